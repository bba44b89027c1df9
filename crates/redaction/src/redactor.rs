//! The library entry point: `Redactor::new(policy)` then `redact_text` / `redact_record`.
//! No I/O here; `formats` and `release` do files.

use crate::detect::{resolve_overlaps, DetectError, DetectorChain, FieldHint};
use crate::entity::{Confidence, EntityKind, Finding};
use crate::operator::{replacement, PseudonymKey};
use crate::policy::{Action, Policy};

/// Errors building a redactor.
#[derive(Debug, thiserror::Error)]
pub enum RedactorError {
    /// A detector (e.g. the policy's municipal ID pattern) did not build.
    #[error(transparent)]
    Detect(#[from] DetectError),
    /// The policy uses pseudonyms but no key was given.
    #[error("policy {0} uses keyed pseudonyms: give a key file of at least 16 bytes (--key FILE)")]
    KeyRequired(String),
    /// The key is too short to be a secret.
    #[error("the pseudonym key must be at least 16 bytes (got {0})")]
    KeyTooShort(usize),
}

/// How one field of a record is to be treated.
#[derive(Debug, Clone, Copy)]
pub enum FieldRole {
    /// The whole value is one entity of this kind (a classified column or key).
    Whole(EntityKind),
    /// Scan the text, with these hints.
    Scan(FieldHint),
}

/// One redaction applied to a field: where (byte offsets in the original field), what, why.
/// Never holds the original value.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Byte offset in the original field.
    pub start: usize,
    /// Byte offset one past the end in the original field.
    pub end: usize,
    /// What was found.
    pub kind: EntityKind,
    /// Which detector found it.
    pub detector: &'static str,
    /// How sure it was.
    pub confidence: Confidence,
    /// What was done.
    pub action: Action,
    /// Short exemption cite (`7(1)(b)`).
    pub exemption: String,
    /// Flagged for counsel's review.
    pub counsel: bool,
}

/// A redacted field: the released text, what was applied, and uncertain candidates left in place.
#[derive(Debug, Clone)]
pub struct RedactedField {
    /// Text to release.
    pub text: String,
    /// Redactions applied.
    pub applied: Vec<Applied>,
    /// Candidates below the policy's confidence threshold, left unredacted, for review.
    pub review: Vec<Finding>,
}

/// Detects and redacts under one policy. Cheap to share across threads (`&Redactor` is `Sync`).
pub struct Redactor {
    policy: Policy,
    chain: DetectorChain,
    key: Option<PseudonymKey>,
}

impl Redactor {
    /// A redactor for `policy` (no pseudonym key; fails if the policy needs one).
    pub fn new(policy: Policy) -> Result<Self, RedactorError> {
        Self::with_key(policy, None)
    }

    /// A redactor with a pseudonym key (required when the policy uses `pseudonym`).
    pub fn with_key(policy: Policy, key: Option<Vec<u8>>) -> Result<Self, RedactorError> {
        if let Some(k) = &key {
            if k.len() < 16 {
                return Err(RedactorError::KeyTooShort(k.len()));
            }
        }
        if policy.needs_key() && key.is_none() {
            return Err(RedactorError::KeyRequired(policy.id.clone()));
        }
        let municipal = policy
            .municipal_id
            .as_ref()
            .map(|m| (m.pattern.as_str(), m.require_cue));
        let chain = DetectorChain::standard(municipal)?;
        Ok(Redactor {
            policy,
            chain,
            key: key.map(PseudonymKey::new),
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The detector chain (for column classification and evaluation).
    pub fn chain(&self) -> &DetectorChain {
        &self.chain
    }

    /// Detections for a record, after propagation (no redaction applied).
    pub fn detect_record(&self, fields: &[(&str, FieldRole)]) -> Vec<Vec<Finding>> {
        let mut per_field: Vec<Vec<Finding>> = fields
            .iter()
            .map(|(text, role)| match role {
                FieldRole::Whole(kind) => whole_finding(text, *kind),
                FieldRole::Scan(hint) => self.chain.detect_field(text, *hint),
            })
            .collect();
        let texts: Vec<&str> = fields.iter().map(|(t, _)| *t).collect();
        self.chain.propagate(&texts, &mut per_field);
        per_field
    }

    /// Redacts a free-text document (one record, one field).
    pub fn redact_text(&self, text: &str) -> RedactedField {
        let mut out = self.redact_record(&[(text, FieldRole::Scan(FieldHint::default()))]);
        out.pop().unwrap_or_else(|| RedactedField {
            text: String::new(),
            applied: Vec::new(),
            review: Vec::new(),
        })
    }

    /// Redacts the fields of one record together (names and identifiers found in one field are
    /// redacted in the others).
    pub fn redact_record(&self, fields: &[(&str, FieldRole)]) -> Vec<RedactedField> {
        let found = self.detect_record(fields);
        fields
            .iter()
            .zip(found)
            .map(|((text, _), f)| self.apply(text, f))
            .collect()
    }

    /// Applies the policy to one field's findings.
    pub fn apply(&self, text: &str, findings: Vec<Finding>) -> RedactedField {
        let mut out = String::with_capacity(text.len());
        let mut applied = Vec::new();
        let mut review = Vec::new();
        let mut pos = 0;
        for f in findings {
            if f.confidence < self.policy.min_confidence {
                review.push(f);
                continue;
            }
            let rule = self.policy.rule(f.kind);
            let public =
                f.kind == EntityKind::Email && self.policy.is_public_email(&text[f.start..f.end]);
            if rule.action == Action::Keep || f.start < pos || public {
                continue;
            }
            out.push_str(&text[pos..f.start]);
            out.push_str(&replacement(
                rule,
                f.kind,
                &text[f.start..f.end],
                self.key.as_ref(),
            ));
            pos = f.end;
            applied.push(Applied {
                start: f.start,
                end: f.end,
                kind: f.kind,
                detector: f.detector,
                confidence: f.confidence,
                action: rule.action,
                exemption: rule.exemption.clone().unwrap_or_default(),
                counsel: rule.counsel,
            });
        }
        out.push_str(&text[pos..]);
        RedactedField {
            text: out,
            applied,
            review,
        }
    }
}

fn whole_finding(text: &str, kind: EntityKind) -> Vec<Finding> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    let start = text.len() - text.trim_start().len();
    vec![Finding {
        start,
        end: start + trimmed.len(),
        kind,
        detector: "column",
        confidence: Confidence::VeryLikely,
    }]
}

/// Re-exported for formats that merge findings themselves.
pub fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    resolve_overlaps(findings)
}
