//! Conditions over the request vocabulary: the `when` of a provision.
//!
//! In a pack a condition is a TOML table whose keys are fact names; every key must
//! hold (and), a list means "any of these values" (or), `any` is a list of
//! alternative conditions and `not` negates one. Because the table is typed, a
//! misspelt fact or value is a load error with its line. At load the condition is
//! compiled to bit masks, so evaluating it is a handful of integer operations.

use serde::Deserialize;

use crate::facts::{BoolFact, DocFacts, Fact, Facts};
use std::ops::Not;

use crate::tri::Tri;
use crate::vocab::{
    Act, AgencyKind, Consent, DataCategory, DocumentKind, Purpose, RequesterKind, Signer,
};

/// A condition as written in a rule pack.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The asked agency is one of these kinds.
    pub agency: Option<Vec<AgencyKind>>,
    /// The requester is one of these kinds.
    pub requester: Option<Vec<RequesterKind>>,
    /// The act asked for is one of these.
    pub act: Option<Vec<Act>>,
    /// The data asked for includes at least one of these categories.
    pub data: Option<Vec<DataCategory>>,
    /// The requester's purpose is one of these.
    pub purpose: Option<Vec<Purpose>>,
    /// Some presented document matches this pattern.
    pub document: Option<DocumentPattern>,
    /// The subject's consent is one of these.
    pub consent: Option<Vec<Consent>>,
    pub in_custody: Option<bool>,
    pub minor: Option<bool>,
    pub violent_or_serious_conviction_within_5_years: Option<bool>,
    pub crime_victim: Option<bool>,
    pub in_removal_proceedings: Option<bool>,
    pub bulk: Option<bool>,
    /// At least one of these conditions holds.
    pub any: Option<Vec<Condition>>,
    /// This condition does not hold.
    pub not: Option<Box<Condition>>,
}

/// A pattern a single presented document must match (every given field).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentPattern {
    pub kind: Option<Vec<DocumentKind>>,
    pub signed_by: Option<Vec<Signer>>,
    pub criminal: Option<bool>,
    pub verified: Option<bool>,
}

/// A condition compiled to bit masks. A zero mask means "not constrained".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Compiled {
    pub(crate) agency: u32,
    pub(crate) requester: u32,
    pub(crate) act: u32,
    pub(crate) data: u32,
    pub(crate) purpose: u32,
    pub(crate) consent: u32,
    pub(crate) document: Option<CompiledDocument>,
    /// Which boolean facts are constrained, and to what value.
    pub(crate) bool_mask: u8,
    pub(crate) bool_value: u8,
    pub(crate) any: Vec<Compiled>,
    pub(crate) not: Option<Box<Compiled>>,
}

/// A compiled [`DocumentPattern`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompiledDocument {
    pub(crate) kind: u32,
    pub(crate) signed_by: u32,
    pub(crate) criminal: Option<bool>,
    pub(crate) verified: Option<bool>,
}

/// Bit set of vocabulary values.
pub(crate) fn mask<T: Copy + Into<u32>>(values: &[T]) -> u32 {
    values.iter().fold(0, |m, v| m | (1u32 << (*v).into()))
}

macro_rules! into_u32 {
    ($($t:ty),*) => {$(
        impl From<$t> for u32 {
            fn from(v: $t) -> u32 { v.index() }
        }
    )*};
}
into_u32!(
    AgencyKind,
    RequesterKind,
    Act,
    DataCategory,
    Purpose,
    DocumentKind,
    Signer,
    Consent
);

fn opt_mask<T: Copy + Into<u32>>(values: &Option<Vec<T>>) -> u32 {
    values.as_deref().map_or(0, mask)
}

impl Condition {
    /// Compile to masks. Callers validate first (see [`Condition::problems`]).
    pub fn compile(&self) -> Compiled {
        let mut bool_mask = 0u8;
        let mut bool_value = 0u8;
        for (fact, value) in self.bool_constraints() {
            bool_mask |= fact.bit();
            if value {
                bool_value |= fact.bit();
            }
        }
        Compiled {
            agency: opt_mask(&self.agency),
            requester: opt_mask(&self.requester),
            act: opt_mask(&self.act),
            data: opt_mask(&self.data),
            purpose: opt_mask(&self.purpose),
            consent: opt_mask(&self.consent),
            document: self.document.as_ref().map(|d| CompiledDocument {
                kind: opt_mask(&d.kind),
                signed_by: opt_mask(&d.signed_by),
                criminal: d.criminal,
                verified: d.verified,
            }),
            bool_mask,
            bool_value,
            any: self.any.iter().flatten().map(Condition::compile).collect(),
            not: self.not.as_ref().map(|c| Box::new(c.compile())),
        }
    }

    fn bool_constraints(&self) -> impl Iterator<Item = (BoolFact, bool)> + '_ {
        [
            (BoolFact::InCustody, self.in_custody),
            (BoolFact::Minor, self.minor),
            (
                BoolFact::ViolentOrSeriousConviction,
                self.violent_or_serious_conviction_within_5_years,
            ),
            (BoolFact::CrimeVictim, self.crime_victim),
            (BoolFact::InRemovalProceedings, self.in_removal_proceedings),
            (BoolFact::Bulk, self.bulk),
        ]
        .into_iter()
        .filter_map(|(f, v)| v.map(|v| (f, v)))
    }

    /// Validation beyond types: empty lists and empty tables say nothing and are
    /// almost always a mistake, and `purpose = ["unknown"]` can never hold
    /// (an unknown purpose is an unknown fact).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let lists: [(&str, Option<usize>); 6] = [
            ("agency", self.agency.as_ref().map(Vec::len)),
            ("requester", self.requester.as_ref().map(Vec::len)),
            ("act", self.act.as_ref().map(Vec::len)),
            ("data", self.data.as_ref().map(Vec::len)),
            ("purpose", self.purpose.as_ref().map(Vec::len)),
            ("consent", self.consent.as_ref().map(Vec::len)),
        ];
        for (name, len) in lists {
            if len == Some(0) {
                out.push(format!("`{name}` is an empty list: it can never hold"));
            }
        }
        if self
            .purpose
            .iter()
            .flatten()
            .any(|p| *p == Purpose::Unknown)
        {
            out.push("`purpose` lists `unknown`: an unknown purpose is an unknown fact, never a value to match".into());
        }
        if self.any.as_ref().is_some_and(Vec::is_empty) {
            out.push("`any` is an empty list: it can never hold".into());
        }
        if let Some(d) = &self.document {
            if d.kind.as_ref().is_some_and(Vec::is_empty)
                || d.signed_by.as_ref().is_some_and(Vec::is_empty)
            {
                out.push("`document` has an empty list: it can never hold".into());
            }
        }
        for sub in self.any.iter().flatten() {
            out.extend(sub.problems());
        }
        if let Some(n) = &self.not {
            if n.constraint_count() > 1 {
                // `when.not.a = ...` and `when.not.b = ...` build ONE table, which
                // negates "a and b": almost never what the author meant.
                out.push("`not` has several keys, which negates their conjunction (\"not both\"); write `not.any = [{ a = ... }, { b = ... }]` for \"neither\", or nest `any` explicitly".into());
            }
            out.extend(n.problems());
        }
        out
    }

    /// How many keys the table sets.
    fn constraint_count(&self) -> usize {
        [
            self.agency.is_some(),
            self.requester.is_some(),
            self.act.is_some(),
            self.data.is_some(),
            self.purpose.is_some(),
            self.document.is_some(),
            self.consent.is_some(),
            self.in_custody.is_some(),
            self.minor.is_some(),
            self.violent_or_serious_conviction_within_5_years.is_some(),
            self.crime_victim.is_some(),
            self.in_removal_proceedings.is_some(),
            self.bulk.is_some(),
            self.any.is_some(),
            self.not.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
    }
}

fn enum_atom(cond_mask: u32, fact: Option<u32>) -> Tri {
    if cond_mask == 0 {
        return Tri::True;
    }
    match fact {
        None => Tri::Unknown,
        Some(bit) => Tri::from(cond_mask & bit != 0),
    }
}

fn opt_bool_atom(want: Option<bool>, have: Option<bool>) -> Tri {
    match (want, have) {
        (None, _) => Tri::True,
        (Some(_), None) => Tri::Unknown,
        (Some(w), Some(h)) => Tri::from(w == h),
    }
}

impl CompiledDocument {
    fn matches_one(&self, doc: &DocFacts) -> Tri {
        if self.kind != 0 && self.kind & doc.kind == 0 {
            return Tri::False;
        }
        let signer = match (self.signed_by, doc.signed_by) {
            (0, _) => Tri::True,
            (_, None) => Tri::Unknown,
            (m, Some(bit)) => Tri::from(m & bit != 0),
        };
        signer
            .and(opt_bool_atom(self.criminal, doc.criminal))
            .and(opt_bool_atom(self.verified, doc.verified))
    }

    fn eval(&self, facts: &Facts) -> Tri {
        match &facts.documents {
            None => Tri::Unknown,
            Some(docs) => docs
                .iter()
                .fold(Tri::False, |acc, d| acc.or(self.matches_one(d))),
        }
    }
}

impl Compiled {
    /// Evaluate on the request's facts, in three-valued logic.
    pub fn eval(&self, facts: &Facts) -> Tri {
        // Act first: it is always known and rules out most provisions at once.
        if self.act != 0 && self.act & facts.act == 0 {
            return Tri::False;
        }
        let mut t = enum_atom(self.agency, facts.agency)
            .and(enum_atom(self.requester, facts.requester))
            .and(enum_atom(self.data, facts.data))
            .and(enum_atom(self.purpose, facts.purpose))
            .and(enum_atom(self.consent, facts.consent))
            .and(self.bools(facts));
        if t == Tri::False {
            return t;
        }
        if let Some(d) = &self.document {
            t = t.and(d.eval(facts));
        }
        if !self.any.is_empty() {
            t = t.and(
                self.any
                    .iter()
                    .fold(Tri::False, |acc, c| acc.or(c.eval(facts))),
            );
        }
        if let Some(n) = &self.not {
            t = t.and(n.eval(facts).not());
        }
        t
    }

    fn bools(&self, facts: &Facts) -> Tri {
        if self.bool_mask == 0 {
            return Tri::True;
        }
        let known = self.bool_mask & facts.bool_known;
        if (facts.bool_value ^ self.bool_value) & known != 0 {
            return Tri::False;
        }
        if known != self.bool_mask {
            Tri::Unknown
        } else {
            Tri::True
        }
    }

    /// The facts whose absence makes this condition unknown. Only called when the
    /// answer depends on them, to ask the person at the desk.
    pub fn unknown_facts(&self, facts: &Facts, out: &mut Vec<Fact>) {
        if self.eval(facts) != Tri::Unknown {
            return;
        }
        let mut push = |f: Fact| {
            if !out.contains(&f) {
                out.push(f)
            }
        };
        if self.agency != 0 && facts.agency.is_none() {
            push(Fact::Agency);
        }
        if self.requester != 0 && facts.requester.is_none() {
            push(Fact::Requester);
        }
        if self.data != 0 && facts.data.is_none() {
            push(Fact::Data);
        }
        if self.purpose != 0 && facts.purpose.is_none() {
            push(Fact::Purpose);
        }
        if self.consent != 0 && facts.consent.is_none() {
            push(Fact::Consent);
        }
        for b in BoolFact::ALL {
            if self.bool_mask & b.bit() != 0 && facts.bool_known & b.bit() == 0 {
                push(b.fact());
            }
        }
        if let Some(d) = &self.document {
            match &facts.documents {
                None => push(Fact::Documents),
                Some(docs) => {
                    for doc in docs {
                        if d.matches_one(doc) != Tri::Unknown {
                            continue;
                        }
                        if d.signed_by != 0 && doc.signed_by.is_none() {
                            push(Fact::DocumentSigner);
                        }
                        if d.criminal.is_some() && doc.criminal.is_none() {
                            push(Fact::DocumentCriminal);
                        }
                        if d.verified.is_some() && doc.verified.is_none() {
                            push(Fact::DocumentVerified);
                        }
                    }
                }
            }
        }
        for c in &self.any {
            c.unknown_facts(facts, out);
        }
        if let Some(n) = &self.not {
            n.unknown_facts(facts, out);
        }
    }

    /// Every fact this condition mentions (for the decisive facts of an answer).
    pub fn mentioned_facts(&self, out: &mut Vec<Fact>) {
        let mut push = |f: Fact| {
            if !out.contains(&f) {
                out.push(f)
            }
        };
        for (m, f) in [
            (self.agency, Fact::Agency),
            (self.requester, Fact::Requester),
            (self.act, Fact::Act),
            (self.data, Fact::Data),
            (self.purpose, Fact::Purpose),
            (self.consent, Fact::Consent),
        ] {
            if m != 0 {
                push(f);
            }
        }
        for b in BoolFact::ALL {
            if self.bool_mask & b.bit() != 0 {
                push(b.fact());
            }
        }
        if let Some(d) = &self.document {
            push(Fact::Documents);
            if d.signed_by != 0 {
                push(Fact::DocumentSigner);
            }
            if d.criminal.is_some() {
                push(Fact::DocumentCriminal);
            }
            if d.verified.is_some() {
                push(Fact::DocumentVerified);
            }
        }
        for c in &self.any {
            c.mentioned_facts(out);
        }
        if let Some(n) = &self.not {
            n.mentioned_facts(out);
        }
    }

    /// The acts this condition can hold for (all acts when unconstrained).
    pub(crate) fn act_mask(&self) -> u32 {
        let own = if self.act == 0 { u32::MAX } else { self.act };
        if self.any.is_empty() {
            own
        } else {
            own & self.any.iter().fold(0, |m, c| m | c.act_mask())
        }
    }
}
