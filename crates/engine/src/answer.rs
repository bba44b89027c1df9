//! The engine's answer: what to do, and why.

use chrono::NaiveDate;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::facts::Fact;
use crate::pack::{Obligation, Outcome, Provision};
use crate::ruleset::EdgeReason;

/// Why the answer is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Applicable provisions, none defeated, agree.
    Decided,
    /// An applicable provision sends the matter to counsel.
    ProvisionRefers,
    /// The answer depends on facts not given: see `questions`.
    MissingFacts,
    /// Two applicable provisions disagree and neither is an exception to the other.
    Conflict,
    /// No provision applies.
    NothingApplies,
    /// The only provisions that would comply rest on unverified ([MEMORY]) sources.
    UnverifiedSource,
}

/// A provision that applied but was defeated by an exception.
#[derive(Debug, Clone)]
pub struct Defeat<'a> {
    /// The defeated provision.
    pub provision: &'a Provision,
    /// The exception that defeated it.
    pub by: &'a Provision,
    /// Declared or generated (with the reason).
    pub reason: &'a EdgeReason,
}

/// A fact the answer turned on, with its value in the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisiveFact {
    /// The fact.
    pub fact: Fact,
    /// Its value, as in the request JSON.
    pub value: String,
}

/// A question that would settle a `refer` for missing facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Question {
    /// The fact to give.
    pub fact: Fact,
    /// The question, in plain language.
    pub question: &'static str,
}

/// The engine's answer. Borrows the provisions from the rule set.
#[derive(Debug, Clone)]
pub struct Answer<'a> {
    /// comply, decline or refer.
    pub outcome: Outcome,
    /// For comply: must or may.
    pub obligation: Option<Obligation>,
    /// Why.
    pub basis: Basis,
    /// The deciding provisions (several for a conflict or a refer).
    pub deciding: Vec<&'a Provision>,
    /// Provisions that applied and were defeated, with what defeated them.
    pub defeated: Vec<Defeat<'a>>,
    /// Facts the deciding provisions turned on.
    pub decisive_facts: Vec<DecisiveFact>,
    /// Required follow-up actions, deduplicated, in provision order.
    pub actions: Vec<&'a str>,
    /// For `refer` on missing facts: the facts that would settle it.
    pub questions: Vec<Question>,
    /// The day the law was applied for.
    pub law_date: NaiveDate,
    /// Hash of the rule packs used.
    pub rules_hash: &'a str,
}

struct Citation<'a>(&'a Provision);

impl Serialize for Citation<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut st = s.serialize_struct("Citation", 9)?;
        st.serialize_field("id", &p.id)?;
        st.serialize_field("citation", &p.citation)?;
        st.serialize_field("level", &p.level)?;
        st.serialize_field("pack", &p.pack)?;
        st.serialize_field("confidence", &p.confidence)?;
        st.serialize_field("outcome", &p.outcome)?;
        st.serialize_field("excerpt", &p.excerpt)?;
        st.serialize_field("explanation", &p.explanation)?;
        st.serialize_field("source", &p.source)?;
        st.end()
    }
}

#[derive(Serialize)]
struct DefeatView<'a> {
    provision: &'a str,
    by: &'a str,
    edge: &'a EdgeReason,
}

impl<'a> Answer<'a> {
    /// What to say to the requester, from the deciding provisions (first given).
    pub fn say(&self) -> Option<&'a str> {
        self.deciding.iter().find_map(|p| p.say.as_deref())
    }

    /// Every provision the answer cites: deciding, then defeated, no repeats.
    pub fn cited(&self) -> Vec<&'a Provision> {
        let mut out: Vec<&'a Provision> = Vec::new();
        for p in self
            .deciding
            .iter()
            .copied()
            .chain(self.defeated.iter().flat_map(|d| [d.by, d.provision]))
        {
            if !out.iter().any(|q| q.id == p.id) {
                out.push(p);
            }
        }
        out
    }
}

impl Serialize for Answer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Answer", 12)?;
        st.serialize_field("outcome", &self.outcome)?;
        st.serialize_field("obligation", &self.obligation)?;
        st.serialize_field("basis", &self.basis)?;
        let deciding: Vec<&str> = self.deciding.iter().map(|p| p.id.as_str()).collect();
        st.serialize_field("deciding", &deciding)?;
        let defeated: Vec<DefeatView> = self
            .defeated
            .iter()
            .map(|d| DefeatView {
                provision: &d.provision.id,
                by: &d.by.id,
                edge: d.reason,
            })
            .collect();
        st.serialize_field("defeated", &defeated)?;
        st.serialize_field("decisive_facts", &self.decisive_facts)?;
        let citations: Vec<Citation> = self.cited().into_iter().map(Citation).collect();
        st.serialize_field("citations", &citations)?;
        st.serialize_field("actions", &self.actions)?;
        st.serialize_field("say", &self.say())?;
        st.serialize_field("questions", &self.questions)?;
        st.serialize_field("law_date", &self.law_date)?;
        st.serialize_field("rules_hash", &self.rules_hash)?;
        st.end()
    }
}
