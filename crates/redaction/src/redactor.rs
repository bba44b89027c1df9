//! The library entry point: `Redactor::new(policy)` then `redact_text` / `redact_record`.
//! No I/O here; `formats` and `release` do files.

use std::borrow::Cow;

use crate::detect::{
    applied_buffer, bytes, findings_buffer, per_field_buffer, recycle_applied, recycle_per_field,
    resolve_overlaps, scratch_start, with_scratch, DetectError, DetectorChain, FieldHint, Scratch,
};
use crate::entity::{Confidence, EntityKind, Finding};
use crate::operator::{label, push_replacement, PseudonymKey};
use crate::policy::{Action, Policy};
use crate::review::{Decision, Decisions};

/// The detector named in the log for a candidate a records officer decided to redact.
pub const REVIEW_ACCEPTED: &str = "review.accepted";

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
    /// Flagged for counsel's review.
    pub counsel: bool,
}

/// A redacted field: the released text, what was applied, and uncertain candidates left in place.
#[derive(Debug, Clone)]
pub struct RedactedField<'a> {
    /// Text to release: the original when nothing was applied, the redactor's label when the
    /// whole field is one labelled value, otherwise a new string.
    pub text: Cow<'a, str>,
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
    /// Per kind (index `kind as usize`), computed once from the policy.
    kinds: Vec<KindRule>,
    /// A records officer's decisions on earlier review candidates.
    decisions: Decisions,
}

/// What the policy says for one kind, with the strings every redaction of it reuses.
struct KindRule {
    action: Action,
    /// `[REDACTED 7(1)(b)]`.
    label: String,
    /// `5 ILCS 140/7(1)(b)`.
    cite: String,
    counsel: bool,
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
        let kinds = EntityKind::ALL
            .iter()
            .map(|&kind| {
                let rule = policy.rule(kind);
                let exemption = rule.exemption.clone().unwrap_or_default();
                KindRule {
                    action: rule.action,
                    label: label(&exemption),
                    cite: policy.cite(&exemption),
                    counsel: rule.counsel,
                }
            })
            .collect();
        Ok(Redactor {
            policy,
            chain,
            key: key.map(PseudonymKey::new),
            kinds,
            decisions: Decisions::default(),
        })
    }

    /// This redactor with a records officer's decisions on review candidates: a candidate
    /// decided `redact` is redacted as the policy redacts its kind (logged by detector
    /// [`REVIEW_ACCEPTED`]), one decided `keep` is released and not listed for review again.
    /// Findings the policy redacts anyway are not affected.
    pub fn with_decisions(mut self, decisions: Decisions) -> Self {
        self.decisions = decisions;
        self
    }

    /// The officer's decisions this redactor applies (none unless [`Self::with_decisions`]).
    pub fn decisions(&self) -> &Decisions {
        &self.decisions
    }

    /// The full citation of the exemption under which `kind` is redacted (for the log).
    pub fn full_cite(&self, kind: EntityKind) -> &str {
        self.kinds
            .get(kind as usize)
            .map(|k| k.cite.as_str())
            .unwrap_or_default()
    }

    /// What every redaction of `kind` gets under this policy: action, full exemption cite and
    /// counsel flag (the redaction log states them once per file, in its header line).
    pub fn kind_rule(&self, kind: EntityKind) -> Option<(Action, &str, bool)> {
        self.kinds
            .get(kind as usize)
            .map(|k| (k.action, k.cite.as_str(), k.counsel))
    }

    /// The label whole-cell redactions of `kind` release: the redactor's own string, so a
    /// released text that is this very slice (same address and length) is the label.
    pub(crate) fn label(&self, kind: EntityKind) -> &str {
        self.kinds
            .get(kind as usize)
            .map(|k| k.label.as_str())
            .unwrap_or_default()
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
        with_scratch(|scratch| self.detect_with(fields, scratch))
    }

    /// [`Self::detect_record`] with this thread's scratch buffers (findings vectors come from
    /// its spares).
    fn detect_with(
        &self,
        fields: &[(&str, FieldRole)],
        scratch: &mut Scratch,
    ) -> Vec<Vec<Finding>> {
        scratch_start(scratch, fields.len());
        let mut per_field = per_field_buffer(scratch);
        for (i, (text, role)) in fields.iter().enumerate() {
            let found = match role {
                FieldRole::Whole(kind) => {
                    let mut found = findings_buffer(scratch);
                    whole_finding(text, *kind, &mut found);
                    found
                }
                FieldRole::Scan(hint) => self.chain.detect_in(text, *hint, i, scratch),
            };
            per_field.push(found);
        }
        self.chain.propagate_in(fields, &mut per_field, scratch);
        per_field
    }

    /// Redacts a free-text document (one record, one field).
    pub fn redact_text<'a>(&'a self, text: &'a str) -> RedactedField<'a> {
        let mut out = self.redact_record(&[(text, FieldRole::Scan(FieldHint::default()))]);
        out.pop().unwrap_or_else(|| RedactedField {
            text: Cow::Borrowed(""),
            applied: Vec::new(),
            review: Vec::new(),
        })
    }

    /// Redacts the fields of one record together (names and identifiers found in one field are
    /// redacted in the others).
    pub fn redact_record<'a>(&'a self, fields: &[(&'a str, FieldRole)]) -> Vec<RedactedField<'a>> {
        let mut out = Vec::with_capacity(fields.len());
        self.redact_record_into(fields, &mut out);
        out
    }

    /// [`Self::redact_record`] into `out`, replacing what it held. A table's rows reuse one
    /// vector: the fields of the previous row are overwritten in place and their vectors of
    /// applied redactions reused (give them back with [`Self::recycle_in_place`] when done).
    pub fn redact_record_into<'a>(
        &'a self,
        fields: &[(&'a str, FieldRole)],
        out: &mut Vec<RedactedField<'a>>,
    ) {
        with_scratch(|scratch| {
            let found = self.detect_with(fields, scratch);
            // Fields reused in place: a vector handed to the scratch's spares and taken back
            // per field per row was 5 % of a booking-log redaction's instructions.
            let reused = out.len().min(fields.len());
            for (slot, ((text, _), f)) in out.iter_mut().zip(fields.iter().zip(&found)) {
                let mut applied = std::mem::take(&mut slot.applied);
                applied.clear();
                // At most one per finding: no growth as they are pushed.
                applied.reserve(f.len());
                *slot = self.apply_into(text, f, applied);
            }
            for f in out.drain(reused..) {
                recycle_applied(scratch, f.applied);
            }
            out.extend(
                fields
                    .iter()
                    .zip(&found)
                    .skip(reused)
                    .map(|((text, _), f)| {
                        let applied = applied_buffer(scratch, f.len());
                        self.apply_into(text, f, applied)
                    }),
            );
            // The findings vectors serve the next record's fields.
            recycle_per_field(scratch, found);
        })
    }

    /// Gives the fields of a redacted record back once they are written: their vectors serve
    /// the next records on this thread (a table row has one per redacted cell; an allocation and
    /// a free each, otherwise).
    pub fn recycle(&self, mut fields: Vec<RedactedField<'_>>) {
        self.recycle_in_place(&mut fields);
    }

    /// [`Self::recycle`], leaving `fields` empty for the next record.
    pub fn recycle_in_place(&self, fields: &mut Vec<RedactedField<'_>>) {
        with_scratch(|scratch| {
            for f in fields.drain(..) {
                recycle_applied(scratch, f.applied);
            }
        })
    }

    /// Applies the policy to one field's findings.
    pub fn apply<'a>(&'a self, text: &'a str, findings: Vec<Finding>) -> RedactedField<'a> {
        self.apply_into(text, &findings, Vec::with_capacity(findings.len()))
    }

    /// [`Self::apply`] on borrowed findings, pushing to `applied` (empty). Inlined, so a field
    /// without findings (most scanned cells: released as they are) costs no call; the rest goes
    /// to [`Self::apply_findings`] (its entry saved and restored registers for every cell, 11
    /// instructions; a table's redaction has about 62,000 cells).
    #[inline(always)]
    fn apply_into<'a>(
        &'a self,
        text: &'a str,
        findings: &[Finding],
        applied: Vec<Applied>,
    ) -> RedactedField<'a> {
        if findings.is_empty() {
            return RedactedField {
                text: Cow::Borrowed(text),
                applied,
                review: Vec::new(),
            };
        }
        self.apply_findings(text, findings, applied)
    }

    /// [`Self::apply_into`] for a field with findings.
    #[inline(never)]
    fn apply_findings<'a>(
        &'a self,
        text: &'a str,
        findings: &[Finding],
        mut applied: Vec<Applied>,
    ) -> RedactedField<'a> {
        let mut out = String::new();
        let mut review = Vec::new();
        let mut pos = 0;
        // The label alone, when the field is one labelled value (most classified table cells).
        let mut whole_label: Option<&'a str> = None;
        for &f in findings {
            let f = if f.confidence >= self.policy.min_confidence {
                f
            } else {
                match self.decisions.get(f.kind, &text[f.start..f.end]) {
                    Some(Decision::Redact) => Finding {
                        detector: REVIEW_ACCEPTED,
                        ..f
                    },
                    Some(Decision::Keep) => continue,
                    None => {
                        review.push(f);
                        continue;
                    }
                }
            };
            let Some(rule) = self.kinds.get(f.kind as usize) else {
                continue;
            };
            let public =
                f.kind == EntityKind::Email && self.policy.is_public_email(&text[f.start..f.end]);
            if rule.action == Action::Keep || f.start < pos || public {
                continue;
            }
            let labelled = matches!(rule.action, Action::Label | Action::DropColumn);
            if applied.is_empty() && labelled && f.start == 0 && f.end == text.len() {
                // Most likely the only redaction: the label is borrowed, no string is built
                // unless another redaction follows.
                whole_label = Some(&rule.label);
            } else {
                if out.capacity() == 0 {
                    // Labels are longer than most values they replace: room for that, so a
                    // long field is not copied again as it grows.
                    out.reserve(text.len() + text.len() / 8 + 32);
                    if let Some(label) = whole_label {
                        out.push_str(label);
                    }
                }
                out.push_str(&text[pos..f.start]);
                match rule.action {
                    Action::Label | Action::DropColumn => out.push_str(&rule.label),
                    _ => push_replacement(
                        self.policy.rule(f.kind),
                        f.kind,
                        &text[f.start..f.end],
                        self.key.as_ref(),
                        &mut out,
                    ),
                }
            }
            pos = f.end;
            applied.push(Applied {
                start: f.start,
                end: f.end,
                kind: f.kind,
                detector: f.detector,
                confidence: f.confidence,
                action: rule.action,
                counsel: rule.counsel,
            });
        }
        let text = if applied.is_empty() {
            Cow::Borrowed(text)
        } else if let (Some(label), 1) = (whole_label, applied.len()) {
            Cow::Borrowed(label)
        } else {
            out.push_str(&text[pos..]);
            Cow::Owned(out)
        };
        RedactedField {
            text,
            applied,
            review,
        }
    }
}

/// The finding for a field that is one value of `kind` whole (its trimmed extent), into `out`.
fn whole_finding(text: &str, kind: EntityKind, out: &mut Vec<Finding>) {
    let (start, end) = bytes::trimmed_span(text);
    if start == end {
        return;
    }
    out.push(Finding {
        start,
        end,
        kind,
        detector: "column",
        confidence: Confidence::VeryLikely,
    });
}

/// Re-exported for formats that merge findings themselves.
pub fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    resolve_overlaps(findings)
}
