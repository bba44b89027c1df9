//! Evaluation: default logic over a jurisdiction's chain, in three-valued logic.
//!
//! A provision *applies* when its condition holds and it is in force. An exception
//! subtree is *engaged* when any provision in it applies; a provision is *defeated*
//! when one of its direct exceptions is engaged (so an exception to an exception
//! replaces both, as in Catala). The *active* provisions (applying, not defeated)
//! decide. With unknown facts every step is Kleene logic, and the answer is given
//! only when no completion of the unknown facts could change it.

use chrono::NaiveDate;

use crate::answer::{Answer, Basis, DecisiveFact, Defeat, Question};
use crate::facts::{Fact, Facts};
use crate::pack::{Confidence, Obligation, Outcome, Provision};
use crate::ruleset::{level_rank, Chain, RuleSet, MAX_CHAIN};
use std::ops::Not;

use crate::tri::Tri;
use crate::vocab::Request;

/// A request the engine cannot judge at all (as opposed to one it refers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// No provision of the jurisdiction's packs is in force on the date.
    #[error("date: {date} is before every rule pack for `{jurisdiction}` (they start {earliest})")]
    DateOutsidePacks {
        /// The request's date.
        date: NaiveDate,
        /// Its jurisdiction.
        jurisdiction: &'static str,
        /// The earliest date the packs cover.
        earliest: NaiveDate,
    },
}

/// Per-decision state of one chain position.
#[derive(Clone, Copy)]
struct State {
    applies: Tri,
    engaged: Tri,
    defeated: Tri,
}

impl RuleSet {
    /// Decide a request; a request without a date is judged as of `today`.
    pub fn decide(&self, req: &Request, today: NaiveDate) -> Result<Answer<'_>, DecideError> {
        self.decide_facts(req, &Facts::of(req), today)
    }

    /// Decide from already extracted facts (`facts` must be `Facts::of(req)`).
    pub fn decide_facts(
        &self,
        req: &Request,
        facts: &Facts,
        today: NaiveDate,
    ) -> Result<Answer<'_>, DecideError> {
        let date = req.date.unwrap_or(today);
        let chain = self.chain(req.jurisdiction);
        if let Some(earliest) = chain.earliest {
            if date < earliest {
                return Err(DecideError::DateOutsidePacks {
                    date,
                    jurisdiction: req.jurisdiction.as_str(),
                    earliest,
                });
            }
        }
        let n = chain.order.len().min(MAX_CHAIN);
        let mut st = [State {
            applies: Tri::False,
            engaged: Tri::False,
            defeated: Tri::False,
        }; MAX_CHAIN];
        for k in 0..n {
            let (applies, defeated) = self.step(chain, k, facts, date, |d| st[d].engaged);
            st[k] = State {
                applies,
                engaged: applies.or(defeated),
                defeated,
            };
        }
        let active = |k: usize| st[k].applies.and(st[k].defeated.not());
        let mut definite: Vec<usize> = Vec::new();
        let mut possible: Vec<usize> = Vec::new();
        for k in 0..n {
            match active(k) {
                Tri::True => definite.push(k),
                Tri::Unknown => possible.push(k),
                Tri::False => {}
            }
        }
        let prov = |k: usize| &self.provisions[chain.order[k]];
        let outcome_of = |k: usize| prov(k).outcome;

        let refers: Vec<usize> = definite
            .iter()
            .copied()
            .filter(|k| outcome_of(*k) == Outcome::Refer)
            .collect();
        let has = |o: Outcome| definite.iter().any(|k| outcome_of(*k) == o);
        let (outcome, basis, deciding): (Outcome, Basis, Vec<usize>) = if !refers.is_empty() {
            (Outcome::Refer, Basis::ProvisionRefers, refers)
        } else if has(Outcome::Comply) && has(Outcome::Decline) {
            (Outcome::Refer, Basis::Conflict, definite.clone())
        } else if let Some(&first) = definite.first() {
            let o = outcome_of(first);
            let contested: Vec<usize> = possible
                .iter()
                .copied()
                .filter(|k| outcome_of(*k) != o)
                .collect();
            if !contested.is_empty() {
                let mut ask = Vec::new();
                for k in &contested {
                    self.collect_unknowns(chain, *k, facts, &mut ask);
                }
                return Ok(self.refer_for_facts(req, date, ask, contested, &prov));
            }
            let memory_only = o == Outcome::Comply
                && definite
                    .iter()
                    .all(|k| prov(*k).confidence == Confidence::Memory);
            if memory_only {
                (Outcome::Refer, Basis::UnverifiedSource, definite.clone())
            } else {
                (o, Basis::Decided, definite.clone())
            }
        } else if !possible.is_empty() {
            let mut ask = Vec::new();
            for k in &possible {
                self.collect_unknowns(chain, *k, facts, &mut ask);
            }
            return Ok(self.refer_for_facts(req, date, ask, possible, &prov));
        } else {
            (Outcome::Refer, Basis::NothingApplies, Vec::new())
        };

        let mut deciding: Vec<&Provision> = deciding.into_iter().map(prov).collect();
        // Highest level first, then by id: the order counsel reads the law in.
        deciding.sort_by(|a, b| (level_rank(a.level), &a.id).cmp(&(level_rank(b.level), &b.id)));
        let obligation = (outcome == Outcome::Comply).then(|| {
            if deciding
                .iter()
                .any(|p| p.obligation == Some(Obligation::Must))
            {
                Obligation::Must
            } else {
                Obligation::May
            }
        });
        let mut defeated = Vec::new();
        for (e, &(bk, ek)) in chain.edges.iter().zip(&chain.edge_positions) {
            if st[bk].applies == Tri::True && st[ek].engaged == Tri::True {
                defeated.push(Defeat {
                    provision: &self.provisions[e.base],
                    by: &self.provisions[e.exception],
                    reason: &e.reason,
                });
            }
        }
        Ok(Answer {
            outcome,
            obligation,
            basis,
            decisive_facts: decisive_facts(req, &deciding),
            actions: actions_of(&deciding, outcome),
            deciding,
            defeated,
            questions: Vec::new(),
            law_date: date,
            rules_hash: &self.hash,
        })
    }

    /// Whether the provision at chain position `k` applies, and whether it is
    /// defeated given the `engaged` state of its exceptions. Exceptions come
    /// earlier in the chain order, so their state is final when `k` is stepped.
    pub(crate) fn step(
        &self,
        chain: &Chain,
        k: usize,
        facts: &Facts,
        date: NaiveDate,
        engaged: impl Fn(usize) -> Tri,
    ) -> (Tri, Tri) {
        let p = &self.provisions[chain.order[k]];
        let applies = if p.in_force(date) {
            p.compiled.eval(facts)
        } else {
            Tri::False
        };
        let defeated = chain.defeaters[k]
            .iter()
            .fold(Tri::False, |acc, d| acc.or(engaged(*d)));
        (applies, defeated)
    }

    fn refer_for_facts<'a>(
        &'a self,
        req: &Request,
        date: NaiveDate,
        mut ask: Vec<Fact>,
        undecided: Vec<usize>,
        prov: &dyn Fn(usize) -> &'a Provision,
    ) -> Answer<'a> {
        ask.sort_by_key(|f| f.priority());
        let deciding: Vec<&Provision> = undecided.into_iter().map(prov).collect();
        Answer {
            outcome: Outcome::Refer,
            obligation: None,
            basis: Basis::MissingFacts,
            decisive_facts: decisive_facts(req, &deciding),
            actions: actions_of(&[], Outcome::Refer),
            deciding,
            defeated: Vec::new(),
            questions: ask
                .into_iter()
                .map(|fact| Question {
                    fact,
                    question: fact.question(),
                })
                .collect(),
            law_date: date,
            rules_hash: &self.hash,
        }
    }

    /// Unknown facts of a provision's condition and of its exception subtree.
    fn collect_unknowns(&self, chain: &Chain, k: usize, facts: &Facts, out: &mut Vec<Fact>) {
        for p in chain.with_exceptions(&[k]) {
            self.provisions[chain.order[p]]
                .compiled
                .unknown_facts(facts, out);
        }
    }
}

/// The Law Department is always the next step of a referral.
const CALL_COUNSEL: &str =
    "Call the Law Department before acting; do nothing the requester asks until counsel answers.";

fn actions_of<'a>(deciding: &[&'a Provision], outcome: Outcome) -> Vec<&'a str> {
    let mut out: Vec<&'a str> = Vec::new();
    if outcome == Outcome::Refer {
        out.push(CALL_COUNSEL);
    }
    for p in deciding {
        for a in &p.actions {
            if !out.contains(&a.as_str()) {
                out.push(a);
            }
        }
    }
    out
}

fn decisive_facts(req: &Request, deciding: &[&Provision]) -> Vec<DecisiveFact> {
    let mut facts = Vec::new();
    for p in deciding {
        p.compiled.mentioned_facts(&mut facts);
    }
    facts.sort();
    facts
        .into_iter()
        .filter_map(|fact| fact_value(req, fact).map(|value| DecisiveFact { fact, value }))
        .collect()
}

fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

/// A fact's value in the request, or `None` when not given.
pub(crate) fn fact_value(req: &Request, fact: Fact) -> Option<String> {
    let s = &req.subject;
    let b = |v: Option<bool>| v.map(|v| v.to_string());
    let docs = req.documents.as_deref();
    match fact {
        Fact::Agency => req.agency.as_ref().map(|a| a.kind.to_string()),
        Fact::Requester => req.requester.as_ref().map(|r| r.kind.to_string()),
        Fact::Act => Some(req.act.to_string()),
        Fact::Data => req.data.as_ref().map(|d| join(d.iter())),
        Fact::Purpose => req.purpose.map(|p| p.to_string()),
        Fact::Documents => docs.map(|d| join(d.iter().map(|d| d.kind))),
        Fact::DocumentSigner => docs.map(|d| join(d.iter().filter_map(|d| d.signed_by))),
        Fact::DocumentCriminal => docs.map(|d| join(d.iter().filter_map(|d| d.criminal))),
        Fact::DocumentVerified => docs.map(|d| join(d.iter().filter_map(|d| d.verified))),
        Fact::Consent => s.consent.map(|c| c.to_string()),
        Fact::InCustody => b(s.in_custody),
        Fact::Minor => b(s.minor),
        Fact::ViolentOrSeriousConviction => b(s.violent_or_serious_conviction_within_5_years),
        Fact::CrimeVictim => b(s.crime_victim),
        Fact::InRemovalProceedings => b(s.in_removal_proceedings),
        Fact::Bulk => b(req.bulk),
    }
}
