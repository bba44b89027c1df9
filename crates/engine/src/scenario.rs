//! Scenario tables: requests with their expected answers, as data beside the packs
//! (`rules/scenarios/*.toml`). They are the engine's tests and the proof, for
//! `rules check`, that every provision is exercised.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::pack::{line_of, LoadError, Outcome};
use crate::ruleset::RuleSet;
use crate::vocab::Request;

/// One scenario: a request and what the engine must answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the case is, in a few words.
    pub name: String,
    /// The expected outcome.
    pub outcome: Outcome,
    /// Provisions that must be among the deciding ones.
    #[serde(default)]
    pub deciding: Vec<String>,
    /// Provisions that must be among the defeated ones.
    #[serde(default)]
    pub defeated: Vec<String>,
    /// Facts that must be among the questions (by path, e.g. `documents`).
    #[serde(default)]
    pub questions: Vec<String>,
    /// The request.
    pub request: Request,
    /// Line in the table, filled at load.
    #[serde(skip)]
    pub line: usize,
    /// File of the table, filled at load.
    #[serde(skip)]
    pub file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    scenario: Vec<toml::Spanned<Scenario>>,
}

/// Parse a scenario table.
pub fn parse(file: &str, text: &str) -> Result<Vec<Scenario>, LoadError> {
    let table: Table = toml::from_str(text).map_err(|e| LoadError {
        file: file.to_string(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: e.message().to_string(),
    })?;
    Ok(table
        .scenario
        .into_iter()
        .map(|s| {
            let line = line_of(text, s.span().start);
            let mut s = s.into_inner();
            s.line = line;
            s.file = file.to_string();
            s
        })
        .collect())
}

/// A scenario whose answer differs from what it expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `file:line name`.
    pub scenario: String,
    /// What differs.
    pub problems: Vec<String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.scenario, self.problems.join("; "))
    }
}

/// The day scenarios without a date are judged on, so results never drift with the clock.
pub fn reference_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
}

/// Run one scenario; `None` when the answer is as expected.
pub fn run(rules: &RuleSet, s: &Scenario) -> Option<Mismatch> {
    let mut problems = Vec::new();
    match rules.decide(&s.request, reference_date()) {
        Err(e) => problems.push(format!("error: {e}")),
        Ok(a) => {
            if a.outcome != s.outcome {
                problems.push(format!(
                    "outcome {} (basis {:?}, deciding [{}]), expected {}",
                    a.outcome.as_str(),
                    a.basis,
                    a.deciding
                        .iter()
                        .map(|p| p.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.outcome.as_str()
                ));
            }
            for id in &s.deciding {
                if !a.deciding.iter().any(|p| &p.id == id) {
                    problems.push(format!(
                        "`{id}` is not deciding (deciding: [{}])",
                        a.deciding
                            .iter()
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            for id in &s.defeated {
                if !a.defeated.iter().any(|d| &d.provision.id == id) {
                    problems.push(format!("`{id}` is not defeated"));
                }
            }
            for q in &s.questions {
                if !a.questions.iter().any(|x| x.fact.path() == q) {
                    problems.push(format!(
                        "no question on `{q}` (questions: [{}])",
                        a.questions
                            .iter()
                            .map(|x| x.fact.path())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
    }
    (!problems.is_empty()).then(|| Mismatch {
        scenario: format!("{}:{} {}", s.file, s.line, s.name),
        problems,
    })
}
