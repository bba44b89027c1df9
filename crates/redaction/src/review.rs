//! A records officer's decisions on the review list: the list a release writes (`--review`),
//! each line given `"decision": "redact"` (the candidate is protected data: accept it) or
//! `"decision": "keep"` (it is not: reject it), read back for the next run of the same release.
//!
//! A decision is about a value of a kind (`kind` and `candidate` of the line), not a place: the
//! same candidate elsewhere in the release gets the same decision, so an officer decides each
//! value once. Lines without a decision are still open and come back in the next review list;
//! decided ones do not. A decision applies only to a candidate, never to what the policy
//! redacts anyway: `keep` cannot release a confident finding.
//!
//! The file holds candidate text, as the review list does; errors name the line and the field,
//! never a value.

use std::collections::HashMap;
use std::io::BufRead;

use crate::entity::EntityKind;

/// What the officer decided for a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Protected data: redact it as the policy redacts its kind.
    Redact,
    /// Not protected data: release it, and do not list it for review again.
    Keep,
}

impl Decision {
    fn parse(s: &str) -> Option<Decision> {
        match s {
            "redact" => Some(Decision::Redact),
            "keep" => Some(Decision::Keep),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Decision::Redact => "redact",
            Decision::Keep => "keep",
        }
    }
}

/// How many candidate values an officer decided, each way (in the release summary).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DecisionCounts {
    /// Decided `redact`.
    pub redact: u64,
    /// Decided `keep`.
    pub keep: u64,
}

/// Why a decisions file was refused. No variant holds a value from the file.
#[derive(Debug, thiserror::Error)]
pub enum DecisionsError {
    /// The file could not be read.
    #[error("decisions: {0}")]
    Io(#[from] std::io::Error),
    /// A line is not a JSON object.
    #[error("decisions, line {line}: not a JSON object of the review list ({category} at column {column})")]
    Json {
        /// 1-based line.
        line: u64,
        /// serde_json's category (syntax, data, end of file), without its message, which can
        /// quote the value.
        category: &'static str,
        /// 1-based column.
        column: usize,
    },
    /// A field is missing or not what the review list writes.
    #[error("decisions, line {line}: `{field}` must be {allowed}")]
    Field {
        /// 1-based line.
        line: u64,
        /// The field.
        field: &'static str,
        /// What it may be.
        allowed: &'static str,
    },
    /// Two lines decide the same candidate differently.
    #[error("decisions, line {line}: `{decision}` for a candidate decided `{earlier}` on line {earlier_line}")]
    Conflict {
        /// 1-based line.
        line: u64,
        /// This line's decision.
        decision: &'static str,
        /// The earlier line's decision.
        earlier: &'static str,
        /// The earlier line.
        earlier_line: u64,
    },
}

/// The decisions of a review, by kind and candidate text.
#[derive(Debug, Default, Clone)]
pub struct Decisions {
    /// Per kind, per candidate text: the decision and its line.
    by_kind: HashMap<EntityKind, HashMap<String, (Decision, u64)>>,
}

impl Decisions {
    /// Reads a review list with decisions (JSON Lines). Blank lines and lines without a
    /// `decision` are skipped.
    pub fn read(input: impl BufRead) -> Result<Decisions, DecisionsError> {
        let mut decisions = Decisions::default();
        for (i, line) in input.lines().enumerate() {
            let line_no = i as u64 + 1;
            let line = line.map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => DecisionsError::Field {
                    line: line_no,
                    field: "line",
                    allowed: "UTF-8 text",
                },
                _ => DecisionsError::Io(e),
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| DecisionsError::Json {
                    line: line_no,
                    category: match e.classify() {
                        serde_json::error::Category::Io => "read error",
                        serde_json::error::Category::Syntax => "syntax error",
                        serde_json::error::Category::Data => "unexpected data",
                        serde_json::error::Category::Eof => "cut off",
                    },
                    column: e.column(),
                })?;
            let field = |field: &'static str, allowed: &'static str| DecisionsError::Field {
                line: line_no,
                field,
                allowed,
            };
            let Some(object) = value.as_object() else {
                return Err(field("line", "a JSON object"));
            };
            let decision = match object.get("decision") {
                None | Some(serde_json::Value::Null) => continue,
                Some(d) => d
                    .as_str()
                    .and_then(Decision::parse)
                    .ok_or_else(|| field("decision", "\"redact\" or \"keep\""))?,
            };
            let kind = object
                .get("kind")
                .and_then(|k| k.as_str())
                .and_then(|k| EntityKind::ALL.iter().copied().find(|e| e.as_str() == k))
                .ok_or_else(|| {
                    field(
                        "kind",
                        "an entity kind as the review list writes it (SSN, PERSON, ...)",
                    )
                })?;
            let candidate = object
                .get("candidate")
                .and_then(|c| c.as_str())
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    field(
                        "candidate",
                        "the candidate text, as the review list writes it",
                    )
                })?;
            let of_kind = decisions.by_kind.entry(kind).or_default();
            match of_kind.get(candidate) {
                Some(&(earlier, earlier_line)) if earlier != decision => {
                    return Err(DecisionsError::Conflict {
                        line: line_no,
                        decision: decision.as_str(),
                        earlier: earlier.as_str(),
                        earlier_line,
                    })
                }
                Some(_) => {}
                None => {
                    of_kind.insert(candidate.to_string(), (decision, line_no));
                }
            }
        }
        Ok(decisions)
    }

    /// The decision for a candidate of `kind` reading `text`, if the officer made one.
    pub fn get(&self, kind: EntityKind, text: &str) -> Option<Decision> {
        self.by_kind.get(&kind)?.get(text).map(|&(d, _)| d)
    }

    /// How many values were decided each way; `None` when none was.
    pub fn counts(&self) -> Option<DecisionCounts> {
        let mut counts = DecisionCounts::default();
        for (decision, _) in self.by_kind.values().flat_map(HashMap::values) {
            match decision {
                Decision::Redact => counts.redact += 1,
                Decision::Keep => counts.keep += 1,
            }
        }
        (counts != DecisionCounts::default()).then_some(counts)
    }

    /// Number of decided candidates.
    pub fn len(&self) -> usize {
        self.by_kind.values().map(HashMap::len).sum()
    }

    /// True when nothing was decided.
    pub fn is_empty(&self) -> bool {
        self.by_kind.values().all(HashMap::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Decisions, DecisionsError> {
        Decisions::read(text.as_bytes())
    }

    #[test]
    fn decisions_are_read_by_kind_and_value() {
        let d = read(concat!(
            r#"{"file":"a.txt","location":{"line":1},"span":[4,13],"kind":"SSN","detector":"pattern.ssn","confidence":"possible","candidate":"512449012","decision":"redact"}"#,
            "\n\n",
            r#"{"kind":"PERSON","candidate":"Jordan","decision":"keep"}"#,
            "\n",
            r#"{"kind":"PERSON","candidate":"Avery"}"#,
            "\n",
            r#"{"kind":"SSN","candidate":"512449012","decision":"redact"}"#,
            "\n",
        ))
        .unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.counts(), Some(DecisionCounts { redact: 1, keep: 1 }));
        assert_eq!(Decisions::default().counts(), None);
        assert_eq!(d.get(EntityKind::Ssn, "512449012"), Some(Decision::Redact));
        assert_eq!(d.get(EntityKind::Person, "Jordan"), Some(Decision::Keep));
        // Undecided, another kind, another value: no decision.
        assert_eq!(d.get(EntityKind::Person, "Avery"), None);
        assert_eq!(d.get(EntityKind::Phone, "512449012"), None);
        assert_eq!(d.get(EntityKind::Ssn, "512449013"), None);
    }

    /// Each bad line is refused with its line and field, and the message never shows a value
    /// of the file.
    #[test]
    fn bad_lines_name_line_and_field_never_the_value() {
        let cases = [
            (r#"{"kind":"SSN","candidate":"512449012","decision":"yes 512449012"}"#, "line 1: `decision` must be \"redact\" or \"keep\""),
            (r#"{"kind":"SSN 512449012","candidate":"512449012","decision":"keep"}"#, "line 1: `kind` must be an entity kind"),
            (r#"{"kind":"SSN","candidate":512449012,"decision":"keep"}"#, "line 1: `candidate` must be the candidate text"),
            (r#"{"kind":"SSN","decision":"keep"}"#, "line 1: `candidate` must be"),
            (r#"["SSN","512449012"]"#, "line 1: `line` must be a JSON object"),
            (r#"{"kind":"SSN","candidate":"512449012""#, "line 1: not a JSON object of the review list (cut off at column"),
            (r#"{"kind":"SSN","candidate":"512449012" 512449012}"#, "line 1: not a JSON object of the review list (syntax error at column"),
            (
                "{\"kind\":\"SSN\",\"candidate\":\"512449012\",\"decision\":\"redact\"}\n{\"kind\":\"SSN\",\"candidate\":\"512449012\",\"decision\":\"keep\"}",
                "line 2: `keep` for a candidate decided `redact` on line 1",
            ),
        ];
        let latin1 = b"{\"kind\":\"PERSON\",\"candidate\":\"Jos\xe9\",\"decision\":\"keep\"}\n";
        let err = Decisions::read(&latin1[..]).unwrap_err().to_string();
        assert!(err.contains("line 1: `line` must be UTF-8 text"), "{err}");
        for (text, expected) in cases {
            let err = read(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(
                !err.contains("512449012"),
                "{text}: the error shows a value: {err}"
            );
        }
    }
}
