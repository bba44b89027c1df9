//! Release policies as data (TOML under `policies/` at the repository root, embedded in the
//! binary): for each entity kind, what to do with it and which exemption justifies it.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::entity::{Confidence, EntityKind};

/// What to do with a detected value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Release as is (e.g. 2.15 arrest-report fields).
    Keep,
    /// Replace with `[REDACTED <exemption>]`.
    Label,
    /// Replace letters and digits with `X`, keeping separators and the last `keep_last` characters.
    Mask,
    /// Keyed HMAC-SHA256 pseudonym, stable within a release (needs a key file).
    Pseudonym,
    /// Keep only the year of a date (date of birth to year of birth); other kinds are labelled.
    Generalise,
    /// In tables, remove the whole column; elsewhere, label.
    DropColumn,
}

impl Action {
    /// Name used in policies and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Keep => "keep",
            Action::Label => "label",
            Action::Mask => "mask",
            Action::Pseudonym => "pseudonym",
            Action::Generalise => "generalise",
            Action::DropColumn => "drop-column",
        }
    }
}

/// The rule for one entity kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityRule {
    /// Entity kind name (`SSN`, `PERSON`, ...).
    pub kind: String,
    /// What to do.
    pub action: Action,
    /// Short exemption cite shown in labels, e.g. `7(1)(b)`; required unless `keep`.
    #[serde(default)]
    pub exemption: Option<String>,
    /// Why, for reviewers (shown in `citygate redact --list-policies`).
    #[serde(default)]
    pub reason: Option<String>,
    /// Flag each such redaction for counsel's review (e.g. country of origin).
    #[serde(default)]
    pub counsel: bool,
    /// For `mask`: characters left visible at the end.
    #[serde(default)]
    pub keep_last: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyHeader {
    id: String,
    title: String,
    statute: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_min_confidence")]
    min_confidence: Confidence,
    #[serde(default)]
    public_email_domains: Vec<String>,
}

fn default_min_confidence() -> Confidence {
    Confidence::Likely
}

/// Municipal ID numbers are jurisdiction-specific: the policy gives their pattern.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MunicipalIdRule {
    /// Regular expression (ASCII syntax) for the ID number.
    pub pattern: String,
    /// Only redact matches that follow a cue ("CityKey", "municipal ID").
    #[serde(default)]
    pub require_cue: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    policy: PolicyHeader,
    #[serde(default)]
    municipal_id: Option<MunicipalIdRule>,
    #[serde(default, rename = "entity")]
    entities: Vec<EntityRule>,
}

/// A loaded, validated release policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Identifier (`foia-general`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// The statute exemptions are cited from (`5 ILCS 140`).
    pub statute: String,
    /// Longer description.
    pub description: String,
    /// Findings below this confidence are listed for review, not redacted.
    pub min_confidence: Confidence,
    /// Municipal ID pattern, if the jurisdiction has one.
    pub municipal_id: Option<MunicipalIdRule>,
    /// Official e-mail domains (the city's own addresses are not personal e-mail).
    pub public_email_domains: Vec<String>,
    rules: BTreeMap<EntityKind, EntityRule>,
    fallback: EntityRule,
}

/// A policy that failed to load: which policy, which field, what is allowed.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// TOML syntax or schema error (the message carries line and column).
    #[error("policy {name}: {message}")]
    Parse {
        /// Policy file name.
        name: String,
        /// Parser message with location.
        message: String,
    },
    /// A rule names an unknown entity kind.
    #[error("policy {name}: entity kind {kind:?} is unknown; allowed: {allowed}")]
    UnknownKind {
        /// Policy file name.
        name: String,
        /// The unknown kind.
        kind: String,
        /// The allowed kinds.
        allowed: String,
    },
    /// A redacting rule has no exemption.
    #[error("policy {name}: entity {kind} uses action {action} but cites no exemption (add `exemption = \"7(1)(b)\"` or similar)")]
    MissingExemption {
        /// Policy file name.
        name: String,
        /// The entity kind.
        kind: String,
        /// The action.
        action: &'static str,
    },
    /// The same kind has two rules.
    #[error("policy {name}: entity {kind} has more than one rule")]
    Duplicate {
        /// Policy file name.
        name: String,
        /// The entity kind.
        kind: String,
    },
    /// No shipped policy by that id.
    #[error("no policy named {0:?}; shipped policies: {1}")]
    NotFound(String, String),
}

/// Shipped policies: (id, TOML source).
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "foia-general",
        include_str!("../../../policies/foia-general.toml"),
    ),
    (
        "arrest-report-2-15",
        include_str!("../../../policies/arrest-report-2-15.toml"),
    ),
    (
        "research-pseudonymous",
        include_str!("../../../policies/research-pseudonymous.toml"),
    ),
];

/// The default policy for a public-records release.
pub const DEFAULT_POLICY: &str = "foia-general";

impl Policy {
    /// Parses and validates a policy; `name` is used in error messages.
    pub fn from_toml(name: &str, source: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(source).map_err(|e| PolicyError::Parse {
            name: name.to_string(),
            message: e.to_string(),
        })?;
        let mut rules = BTreeMap::new();
        for rule in file.entities {
            let kind = EntityKind::parse(&rule.kind).ok_or_else(|| PolicyError::UnknownKind {
                name: name.to_string(),
                kind: rule.kind.clone(),
                allowed: EntityKind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            if rule.action != Action::Keep && rule.exemption.as_deref().is_none_or(str::is_empty) {
                return Err(PolicyError::MissingExemption {
                    name: name.to_string(),
                    kind: rule.kind,
                    action: rule.action.as_str(),
                });
            }
            if rules.insert(kind, rule).is_some() {
                return Err(PolicyError::Duplicate {
                    name: name.to_string(),
                    kind: kind.as_str().to_string(),
                });
            }
        }
        Ok(Policy {
            id: file.policy.id,
            title: file.policy.title,
            statute: file.policy.statute,
            description: file.policy.description,
            min_confidence: file.policy.min_confidence,
            municipal_id: file.municipal_id,
            public_email_domains: file
                .policy
                .public_email_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            rules,
            fallback: EntityRule {
                kind: "*".to_string(),
                action: Action::Label,
                exemption: Some("7(1)(b)".to_string()),
                reason: Some(
                    "kind not covered by the policy: redacted by default, counsel to review"
                        .to_string(),
                ),
                counsel: true,
                keep_last: 0,
            },
        })
    }

    /// A shipped policy by id.
    pub fn shipped(id: &str) -> Result<Policy, PolicyError> {
        let (_, src) = SHIPPED
            .iter()
            .find(|(name, _)| *name == id)
            .ok_or_else(|| {
                PolicyError::NotFound(
                    id.to_string(),
                    SHIPPED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            })?;
        Policy::from_toml(id, src)
    }

    /// The rule for a kind. Kinds the policy does not mention are redacted under 7(1)(b) with a
    /// counsel flag: a forgotten kind must never be released by default.
    pub fn rule(&self, kind: EntityKind) -> &EntityRule {
        self.rules.get(&kind).unwrap_or(&self.fallback)
    }

    /// True for an address at one of the policy's official domains (released as public contact).
    pub fn is_public_email(&self, value: &str) -> bool {
        let Some((_, domain)) = value.rsplit_once('@') else {
            return false;
        };
        // The domain lower-cased equals `d`, or ends with "." and `d` (compared byte by byte:
        // no string built per e-mail address).
        let lower_eq = |a: &[u8], d: &[u8]| {
            a.len() == d.len() && a.iter().zip(d).all(|(x, y)| x.to_ascii_lowercase() == *y)
        };
        let domain = domain.as_bytes();
        self.public_email_domains.iter().any(|d| {
            let d = d.as_bytes();
            lower_eq(domain, d)
                || (domain.len() > d.len()
                    && domain[domain.len() - d.len() - 1] == b'.'
                    && lower_eq(&domain[domain.len() - d.len()..], d))
        })
    }

    /// The full citation of a short exemption (`5 ILCS 140/7(1)(b)`).
    pub fn cite(&self, exemption: &str) -> String {
        format!("{}/{}", self.statute, exemption)
    }

    /// True when any rule needs a pseudonym key.
    pub fn needs_key(&self) -> bool {
        self.rules.values().any(|r| r.action == Action::Pseudonym)
    }

    /// All explicit rules, by kind.
    pub fn rules(&self) -> impl Iterator<Item = (EntityKind, &EntityRule)> {
        self.rules.iter().map(|(k, r)| (*k, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The comparison without allocation answers as lower-casing and `ends_with` did.
    #[test]
    fn public_email_domains() {
        let mut p = Policy::shipped("foia-general").unwrap();
        p.public_email_domains = vec!["cityofchicago.org".into(), "x.gov".into()];
        let reference = |p: &Policy, value: &str| {
            let Some((_, domain)) = value.rsplit_once('@') else {
                return false;
            };
            let domain = domain.to_ascii_lowercase();
            p.public_email_domains
                .iter()
                .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
        };
        for v in [
            "a@cityofchicago.org",
            "a@CityOfChicago.ORG",
            "a@police.cityofchicago.org",
            "a@notcityofchicago.org",
            "a@.cityofchicago.org",
            "a@x.gov",
            "a@y.x.gov",
            "a@xx.gov",
            "a@gov",
            "no-at-sign",
            "a@b@x.gov",
            "a@Ünï.x.gov",
        ] {
            assert_eq!(p.is_public_email(v), reference(&p, v), "{v}");
        }
    }

    #[test]
    fn shipped_policies_load() {
        for (id, _) in SHIPPED {
            let p = Policy::shipped(id).unwrap();
            assert_eq!(p.id, *id);
        }
        let general = Policy::shipped("foia-general").unwrap();
        assert_eq!(
            general.rule(EntityKind::Ssn).exemption.as_deref(),
            Some("7(1)(b)")
        );
        assert!(general.rule(EntityKind::PlaceOfBirth).counsel);
        let arrest = Policy::shipped("arrest-report-2-15").unwrap();
        assert_eq!(arrest.rule(EntityKind::Person).action, Action::Keep);
        assert_eq!(arrest.rule(EntityKind::StreetAddress).action, Action::Keep);
        assert_ne!(arrest.rule(EntityKind::ANumber).action, Action::Keep);
    }

    #[test]
    fn bad_policies_name_the_field() {
        let bad_kind = "[policy]\nid='x'\ntitle='x'\nstatute='5 ILCS 140'\n[[entity]]\nkind='SOCIAL'\naction='label'\nexemption='7(1)(b)'\n";
        let err = Policy::from_toml("x.toml", bad_kind)
            .unwrap_err()
            .to_string();
        assert!(err.contains("SOCIAL") && err.contains("A_NUMBER"), "{err}");
        let no_cite = "[policy]\nid='x'\ntitle='x'\nstatute='5 ILCS 140'\n[[entity]]\nkind='SSN'\naction='label'\n";
        assert!(Policy::from_toml("x.toml", no_cite)
            .unwrap_err()
            .to_string()
            .contains("cites no exemption"));
        let bad_action = "[policy]\nid='x'\ntitle='x'\nstatute='5 ILCS 140'\n[[entity]]\nkind='SSN'\naction='erase'\nexemption='7(1)(b)'\n";
        let err = Policy::from_toml("x.toml", bad_action)
            .unwrap_err()
            .to_string();
        assert!(err.contains("erase") && err.contains("line"), "{err}");
    }

    #[test]
    fn unlisted_kind_is_redacted_not_released() {
        let minimal = "[policy]\nid='x'\ntitle='x'\nstatute='5 ILCS 140'\n";
        let p = Policy::from_toml("x.toml", minimal).unwrap();
        assert_eq!(p.rule(EntityKind::Ssn).action, Action::Label);
        assert!(p.rule(EntityKind::Ssn).counsel);
    }
}
