//! The rule-pack format and its loader.
//!
//! A pack is a TOML file under `rules/<pack>/`: a `[pack]` header (its level and
//! title) and one `[[provision]]` table per provision, each with its citation, the
//! excerpt it encodes, the source's confidence label, effective dates, the
//! condition (`when`), the outcome, the provisions it is an exception to, a
//! plain-language explanation and the follow-up actions. Everything is typed: an
//! unknown key, fact or value is a load error naming the file and line.

use std::ops::Range;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::condition::{Compiled, Condition};
use crate::vocab::Level;

/// How firmly a provision's text is sourced (see `shared/reference/legal.md` § 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Confidence {
    /// The operative text, or a near-verbatim excerpt, was read.
    #[serde(rename = "TEXT")]
    Text,
    /// From news, summaries or agency pages, not the enacted text.
    #[serde(rename = "SECONDARY")]
    Secondary,
    /// Not found in sources; from background knowledge. Never produces `comply` alone.
    #[serde(rename = "MEMORY")]
    Memory,
}

impl Confidence {
    /// The label as written in the reference, e.g. `[TEXT]`.
    pub fn label(self) -> &'static str {
        match self {
            Confidence::Text => "[TEXT]",
            Confidence::Secondary => "[SECONDARY]",
            Confidence::Memory => "[MEMORY]",
        }
    }
}

/// What a provision (or the engine) says to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Do what is asked.
    Comply,
    /// Do not do what is asked.
    Decline,
    /// Do nothing yet: the Law Department decides.
    Refer,
}

impl Outcome {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Comply => "comply",
            Outcome::Decline => "decline",
            Outcome::Refer => "refer",
        }
    }
}

/// For `comply`: whether the law requires it or only permits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Obligation {
    /// Required.
    Must,
    /// Permitted.
    May,
}

/// A provision that prevails over lower levels: the loader turns it into explicit,
/// reviewable exception edges to every lower-level provision of the same chain with
/// one of the named outcomes (shown by `citygate rules show`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Prevails {
    /// Outcomes of lower-level provisions this one overrides.
    pub over: Vec<Outcome>,
    /// Why, in one line (e.g. "Supremacy Clause: a federal judge's warrant binds the city").
    pub reason: String,
}

/// The `[pack]` header of a pack file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackHeader {
    /// First day the pack encodes the law for: requests dated before every pack
    /// of their chain are rejected rather than judged by law not written down.
    pub covers_from: NaiveDate,
    /// Level in the layered precedence.
    pub level: Level,
    /// Title for counsel, e.g. "Illinois TRUST Act, 5 ILCS 805".
    pub title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    pack: PackHeader,
    #[serde(default)]
    provision: Vec<Spanned<ProvisionSource>>,
    #[serde(default)]
    retention: Vec<Spanned<crate::retention::RetentionSource>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvisionSource {
    id: String,
    citation: String,
    confidence: Confidence,
    excerpt: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    from: Option<NaiveDate>,
    #[serde(default)]
    until: Option<NaiveDate>,
    when: Condition,
    outcome: Outcome,
    #[serde(default)]
    obligation: Option<Obligation>,
    #[serde(default)]
    exception_to: Vec<Spanned<String>>,
    #[serde(default)]
    prevails: Option<Prevails>,
    explanation: String,
    #[serde(default)]
    say: Option<String>,
    #[serde(default)]
    actions: Vec<String>,
}

/// A provision: one rule of law, with its source beside its condition.
#[derive(Debug, Clone, Serialize)]
pub struct Provision {
    /// Stable id, e.g. `chicago.wco.020.a.1.C`.
    pub id: String,
    /// Citation, e.g. "Chicago Mun. Code § 2-173-020(a)(1)(C)".
    pub citation: String,
    /// How firmly the excerpt is sourced.
    pub confidence: Confidence,
    /// The text the provision encodes.
    pub excerpt: String,
    /// Where the text was found.
    pub source: Option<String>,
    /// The pack it belongs to (`federal` or a jurisdiction name).
    pub pack: String,
    /// Its level.
    pub level: Level,
    /// First day in force.
    pub from: Option<NaiveDate>,
    /// First day no longer in force.
    pub until: Option<NaiveDate>,
    /// The condition as written.
    #[serde(skip)]
    pub when: Condition,
    #[serde(skip)]
    pub(crate) compiled: Compiled,
    /// Its outcome.
    pub outcome: Outcome,
    /// For comply: must or may.
    pub obligation: Option<Obligation>,
    /// Ids of the provisions it is an exception to.
    pub exception_to: Vec<String>,
    /// Generated precedence over lower levels.
    pub prevails: Option<Prevails>,
    /// Plain language for staff.
    pub explanation: String,
    /// What to say to the requester.
    pub say: Option<String>,
    /// Follow-up actions it requires.
    pub actions: Vec<String>,
    /// Pack file it came from.
    pub file: String,
    /// Line of its `[[provision]]` header.
    pub line: usize,
}

impl Provision {
    /// In force on `date`.
    pub fn in_force(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|f| f <= date) && self.until.is_none_or(|u| date < u)
    }
}

/// A pack file could not be loaded. Names the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct LoadError {
    /// The pack file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong and what is allowed.
    pub message: String,
}

pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |prefix| {
        prefix.bytes().filter(|b| *b == b'\n').count() + 1
    })
}

/// A provision with the span of its exception names, for error messages.
pub(crate) struct Loaded {
    pub(crate) provision: Provision,
    pub(crate) exception_spans: Vec<Range<usize>>,
    pub(crate) text_index: usize,
}

/// One pack file, parsed.
pub(crate) struct ParsedPack {
    pub(crate) header: PackHeader,
    pub(crate) provisions: Vec<Loaded>,
    pub(crate) retention: Vec<crate::retention::RetentionRule>,
}

/// Parse one pack file. `pack` is the pack name (its folder), `file` its display path.
pub(crate) fn parse_pack(
    pack: &str,
    file: &str,
    text: &str,
    text_index: usize,
) -> Result<ParsedPack, LoadError> {
    let parsed: PackFile = toml::from_str(text).map_err(|e| LoadError {
        file: file.to_string(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: e.message().to_string(),
    })?;
    let mut out = Vec::with_capacity(parsed.provision.len());
    for spanned in parsed.provision {
        let line = line_of(text, spanned.span().start);
        let src = spanned.into_inner();
        let err = |message: String| LoadError {
            file: file.to_string(),
            line,
            message: format!("provision `{}`: {message}", src.id),
        };
        check_source(&src).map_err(err)?;
        let exception_spans = src.exception_to.iter().map(|s| s.span()).collect();
        let provision = Provision {
            compiled: src.when.compile(),
            id: src.id,
            citation: src.citation,
            confidence: src.confidence,
            excerpt: src.excerpt.trim().to_string(),
            source: src.source,
            pack: pack.to_string(),
            level: parsed.pack.level,
            from: src.from,
            until: src.until,
            when: src.when,
            outcome: src.outcome,
            obligation: src.obligation,
            exception_to: src
                .exception_to
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            prevails: src.prevails,
            explanation: src.explanation.trim().to_string(),
            say: src.say.map(|s| s.trim().to_string()),
            actions: src.actions,
            file: file.to_string(),
            line,
        };
        out.push(Loaded {
            provision,
            exception_spans,
            text_index,
        });
    }
    Ok(ParsedPack {
        header: parsed.pack,
        provisions: out,
        retention: crate::retention::parse_retention(pack, file, text, parsed.retention)?,
    })
}

/// Ids name provisions and retention rules in answers, the ledger and reviews.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    let id_ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if id_ok {
        Ok(())
    } else {
        Err("`id` must be non-empty and use only letters, digits, `.`, `-`, `_`".into())
    }
}

fn check_source(src: &ProvisionSource) -> Result<(), String> {
    check_common(Common {
        id: &src.id,
        texts: [&src.citation, &src.excerpt, &src.explanation],
        from: src.from,
        until: src.until,
        when: &src.when,
        kind: "provision",
    })?;
    match (src.outcome, src.obligation) {
        (Outcome::Comply, None) => {
            return Err("`outcome = \"comply\"` needs `obligation = \"must\"` or `\"may\"`".into())
        }
        (Outcome::Decline | Outcome::Refer, Some(_)) => {
            return Err("`obligation` is only for `outcome = \"comply\"`".into())
        }
        _ => {}
    }
    if let Some(p) = &src.prevails {
        if p.over.is_empty() || p.reason.trim().is_empty() {
            return Err("`prevails` needs a non-empty `over` list and a `reason`".into());
        }
    }
    Ok(())
}

/// What provisions and retention rules both carry: an id, the law's text beside the
/// condition, and dates.
pub(crate) struct Common<'a> {
    pub(crate) id: &'a str,
    /// Citation, excerpt and explanation.
    pub(crate) texts: [&'a str; 3],
    pub(crate) from: Option<NaiveDate>,
    pub(crate) until: Option<NaiveDate>,
    pub(crate) when: &'a Condition,
    /// "provision" or "retention rule", for messages.
    pub(crate) kind: &'static str,
}

pub(crate) fn check_common(c: Common<'_>) -> Result<(), String> {
    check_id(c.id)?;
    for (name, value) in ["citation", "excerpt", "explanation"]
        .into_iter()
        .zip(c.texts)
    {
        if value.trim().is_empty() {
            return Err(format!("`{name}` is empty: every {} carries it", c.kind));
        }
    }
    if let (Some(f), Some(u)) = (c.from, c.until) {
        if u <= f {
            return Err("`until` must be after `from`".into());
        }
    }
    let problems = c.when.problems();
    if !problems.is_empty() {
        return Err(format!("`when`: {}", problems.join("; ")));
    }
    Ok(())
}
