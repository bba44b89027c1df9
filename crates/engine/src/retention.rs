//! Retention rules: how long a case's records may be kept, next to the law that says so.
//!
//! A pack file may carry `[[retention]]` tables beside its provisions. Each names what it
//! limits (`documents`: the papers presented with a case; `details`: the case's personal
//! data, its documents included), how many days after the case closes they may be kept,
//! and the requests it covers (a `when` condition in the provisions' vocabulary).
//!
//! A rule covers a case only when its condition is definitely true of the request: a
//! purge cannot be undone, so an unknown fact keeps the records (counsel can always
//! order a purge; nobody can order a record back). Where several rules limit the same
//! thing, the shortest period wins: each is a ceiling set by law.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::condition::{Compiled, Condition};
use crate::facts::Facts;
use crate::pack::{line_of, Confidence, LoadError};
use crate::ruleset::{chain_packs, RuleSet};
use crate::tri::Tri;
use crate::vocab::Request;

/// What a retention rule limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kept {
    /// The documents presented with the case (uploaded papers, photos, scans).
    Documents,
    /// The case's personal data: requester, subject, request, notes, step details, and
    /// its documents.
    Details,
}

impl Kept {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kept::Documents => "documents",
            Kept::Details => "details",
        }
    }
}

/// The longest a retention rule lets a case's records be kept after the case closes.
pub const MAX_KEEP_DAYS: u32 = 36_500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionSource {
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
    what: Kept,
    keep_days_after_close: u32,
    explanation: String,
}

/// A retention rule of a pack.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionRule {
    /// Stable id, e.g. `chicago.citykey.documents-not-kept`; shares the provisions' namespace.
    pub id: String,
    /// Citation of the law that sets the limit.
    pub citation: String,
    /// How firmly the excerpt is sourced.
    pub confidence: Confidence,
    /// The text the rule encodes.
    pub excerpt: String,
    /// Where the text was found.
    pub source: Option<String>,
    /// The pack it belongs to.
    pub pack: String,
    /// First day in force (judged on the request's date).
    pub from: Option<NaiveDate>,
    /// First day no longer in force.
    pub until: Option<NaiveDate>,
    /// The condition as written.
    #[serde(skip)]
    pub when: Condition,
    #[serde(skip)]
    pub(crate) compiled: Compiled,
    /// What it limits.
    pub what: Kept,
    /// Days after the case closes; 0: purged at the first run after closing.
    pub keep_days_after_close: u32,
    /// Plain language for staff and counsel.
    pub explanation: String,
    /// Pack file it came from.
    pub file: String,
    /// Line of its `[[retention]]` header.
    pub line: usize,
}

/// A limit that applies to one case: kept in the case record when it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// The rule's id.
    pub rule: String,
    /// What it limits.
    pub what: Kept,
    /// Days after the case closes.
    pub keep_days_after_close: u32,
}

pub(crate) fn parse_retention(
    pack: &str,
    file: &str,
    text: &str,
    sources: Vec<Spanned<RetentionSource>>,
) -> Result<Vec<RetentionRule>, LoadError> {
    sources
        .into_iter()
        .map(|spanned| {
            let line = line_of(text, spanned.span().start);
            let src = spanned.into_inner();
            check(&src).map_err(|message| LoadError {
                file: file.to_string(),
                line,
                message: format!("retention `{}`: {message}", src.id),
            })?;
            Ok(RetentionRule {
                compiled: src.when.compile(),
                id: src.id,
                citation: src.citation,
                confidence: src.confidence,
                excerpt: src.excerpt.trim().to_string(),
                source: src.source,
                pack: pack.to_string(),
                from: src.from,
                until: src.until,
                when: src.when,
                what: src.what,
                keep_days_after_close: src.keep_days_after_close,
                explanation: src.explanation.trim().to_string(),
                file: file.to_string(),
                line,
            })
        })
        .collect()
}

fn check(src: &RetentionSource) -> Result<(), String> {
    crate::pack::check_common(crate::pack::Common {
        id: &src.id,
        texts: [&src.citation, &src.excerpt, &src.explanation],
        from: src.from,
        until: src.until,
        when: &src.when,
        kind: "retention rule",
    })?;
    if src.keep_days_after_close > MAX_KEEP_DAYS {
        return Err(format!(
            "`keep_days_after_close` is {}; allowed: 0 to {MAX_KEEP_DAYS} (a rule that keeps records forever is no rule: leave it out)",
            src.keep_days_after_close
        ));
    }
    Ok(())
}

impl RetentionRule {
    /// In force on `date`.
    pub fn in_force(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|f| f <= date) && self.until.is_none_or(|u| date < u)
    }
}

impl RuleSet {
    /// The retention limits covering a request: at most one per [`Kept`], the shortest,
    /// from the packs of the request's jurisdiction in force on its date (or `today`).
    pub fn retention_for(&self, req: &Request, today: NaiveDate) -> Vec<Retention> {
        let date = req.date.unwrap_or(today);
        let packs = chain_packs(req.jurisdiction);
        let facts = Facts::of(req);
        let mut out: Vec<Retention> = Vec::new();
        for rule in &self.retention {
            let covers = packs.contains(&rule.pack.as_str())
                && rule.in_force(date)
                && rule.compiled.eval(&facts) == Tri::True;
            if !covers {
                continue;
            }
            match out.iter_mut().find(|r| r.what == rule.what) {
                Some(r) if r.keep_days_after_close <= rule.keep_days_after_close => {}
                Some(r) => {
                    r.rule = rule.id.clone();
                    r.keep_days_after_close = rule.keep_days_after_close;
                }
                None => out.push(Retention {
                    rule: rule.id.clone(),
                    what: rule.what,
                    keep_days_after_close: rule.keep_days_after_close,
                }),
            }
        }
        out.sort_by_key(|r| r.what);
        out
    }

    /// The retention rule with this id.
    pub fn retention_rule(&self, id: &str) -> Option<&RetentionRule> {
        self.retention.iter().find(|r| r.id == id)
    }
}
