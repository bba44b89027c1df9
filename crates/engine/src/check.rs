//! `rules check`: validation beyond loading.
//!
//! - every provision is exercised by a scenario (named as deciding or defeated);
//! - every scenario gets its expected answer;
//! - every provision is reachable: some request makes it active (applying, not
//!   defeated);
//! - no two provisions can be active together with `comply` and `decline` when
//!   neither is an exception to the other (which would make the engine refer on
//!   a conflict the packs should settle).
//!
//! Reachability and conflicts are found by enumerating the finite fact domains.
//! Only the facts that the provisions in question (and their exceptions) mention
//! are enumerated, and each enum fact only by its equivalence classes (values no
//! condition tells apart are tried once), which keeps the search exact and small.
//! Requests are enumerated with up to two documents and one data category.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::condition::Compiled;
use crate::facts::{BoolFact, DocFacts, Facts};
use crate::pack::Outcome;
use crate::ruleset::{Chain, RuleSet};
use crate::scenario::{self, Scenario};
use std::ops::Not;

use crate::tri::Tri;
use crate::vocab::{
    Act, AgencyKind, Consent, DataCategory, DocumentKind, Jurisdiction, Purpose, RequesterKind,
    Signer,
};

/// One finding of `rules check`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// `file:line` of the provision or scenario concerned.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// The result of `rules check`.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Problems that fail the check.
    pub errors: Vec<Finding>,
    /// Provisions, scenarios and enumerated requests looked at.
    pub provisions: usize,
    /// Scenarios run.
    pub scenarios: usize,
    /// Requests evaluated while searching for conflicts and unreachable provisions.
    pub points: u64,
}

/// Run every check.
pub fn check(rules: &RuleSet, scenarios: &[Scenario]) -> Report {
    let mut report = Report {
        provisions: rules.provisions.len(),
        scenarios: scenarios.len(),
        ..Report::default()
    };
    check_tested(rules, scenarios, &mut report);
    for s in scenarios {
        if let Some(m) = scenario::run(rules, s) {
            report.errors.push(Finding {
                location: format!("{}:{}", s.file, s.line),
                message: format!("scenario `{}`: {}", s.name, m.problems.join("; ")),
            });
        }
    }
    let mut reachable = vec![false; rules.provisions.len()];
    let mut conflicts = BTreeSet::new();
    for j in Jurisdiction::ALL {
        let chain = rules.chain(*j);
        search_chain(
            rules,
            chain,
            &mut reachable,
            &mut conflicts,
            &mut report.points,
        );
    }
    for (i, p) in rules.provisions.iter().enumerate() {
        if !reachable[i] {
            report.errors.push(Finding {
                location: format!("{}:{}", p.file, p.line),
                message: format!(
                    "provision `{}` is unreachable: no request makes it apply without an exception defeating it",
                    p.id
                ),
            });
        }
    }
    for (a, b, example) in conflicts {
        let (pa, pb) = (&rules.provisions[a], &rules.provisions[b]);
        report.errors.push(Finding {
            location: format!("{}:{}", pa.file, pa.line),
            message: format!(
                "`{}` ({}) and `{}` ({}, {}:{}) can both apply with no exception edge between them, e.g. {example}",
                pa.id,
                pa.outcome.as_str(),
                pb.id,
                pb.outcome.as_str(),
                pb.file,
                pb.line
            ),
        });
    }
    report.errors.sort();
    report
}

fn check_tested(rules: &RuleSet, scenarios: &[Scenario], report: &mut Report) {
    for p in &rules.provisions {
        let tested = scenarios
            .iter()
            .any(|s| s.deciding.contains(&p.id) || s.defeated.contains(&p.id));
        if !tested {
            report.errors.push(Finding {
                location: format!("{}:{}", p.file, p.line),
                message: format!(
                    "provision `{}` has no test: name it in a scenario's `deciding` or `defeated`",
                    p.id
                ),
            });
        }
    }
    for s in scenarios {
        for id in s.deciding.iter().chain(&s.defeated) {
            if rules.provision(id).is_none() {
                report.errors.push(Finding {
                    location: format!("{}:{}", s.file, s.line),
                    message: format!("scenario `{}` names unknown provision `{id}`", s.name),
                });
            }
        }
    }
}

/// Masks each fact is tested against, gathered from a set of conditions.
#[derive(Default)]
struct Mentions {
    agency: Vec<u32>,
    requester: Vec<u32>,
    purpose: Vec<u32>,
    consent: Vec<u32>,
    data: Vec<u32>,
    doc_kind: Vec<u32>,
    signer: Vec<u32>,
    criminal: bool,
    verified: bool,
    documents: bool,
    bools: u8,
}

impl Mentions {
    fn add(&mut self, c: &Compiled) {
        for (m, list) in [
            (c.agency, &mut self.agency),
            (c.requester, &mut self.requester),
            (c.purpose, &mut self.purpose),
            (c.consent, &mut self.consent),
            (c.data, &mut self.data),
        ] {
            if m != 0 && !list.contains(&m) {
                list.push(m);
            }
        }
        self.bools |= c.bool_mask;
        if let Some(d) = &c.document {
            self.documents = true;
            if d.kind != 0 && !self.doc_kind.contains(&d.kind) {
                self.doc_kind.push(d.kind);
            }
            if d.signed_by != 0 && !self.signer.contains(&d.signed_by) {
                self.signer.push(d.signed_by);
            }
            self.criminal |= d.criminal.is_some();
            self.verified |= d.verified.is_some();
        }
        for sub in &c.any {
            self.add(sub);
        }
        if let Some(n) = &c.not {
            self.add(n);
        }
    }
}

/// One bit per equivalence class of `n` values under `masks` (values in no mask
/// form one class too), skipping values in `skip`.
fn representatives(n: usize, masks: &[u32], skip: u32) -> Vec<u32> {
    let mut seen: Vec<Vec<bool>> = Vec::new();
    let mut reps = Vec::new();
    for v in 0..n {
        let bit = 1u32 << v;
        if skip & bit != 0 {
            continue;
        }
        let sig: Vec<bool> = masks.iter().map(|m| m & bit != 0).collect();
        if !seen.contains(&sig) {
            seen.push(sig);
            reps.push(bit);
        }
    }
    reps
}

fn document_options(m: &Mentions) -> Vec<Option<Vec<DocFacts>>> {
    if !m.documents {
        return vec![Some(Vec::new())];
    }
    let kinds = representatives(
        DocumentKind::ALL.len(),
        &m.doc_kind,
        1 << DocumentKind::None.index(),
    );
    let signers = representatives(Signer::ALL.len(), &m.signer, 0);
    let bools = |on: bool| if on { vec![false, true] } else { vec![false] };
    let mut singles = Vec::new();
    for &kind in &kinds {
        for &s in &signers {
            for criminal in bools(m.criminal) {
                for verified in bools(m.verified) {
                    singles.push(DocFacts {
                        kind,
                        signed_by: Some(s),
                        criminal: Some(criminal),
                        verified: Some(verified),
                    });
                }
            }
        }
    }
    let mut out = vec![Some(Vec::new())];
    for (i, a) in singles.iter().enumerate() {
        out.push(Some(vec![*a]));
        for b in &singles[i + 1..] {
            out.push(Some(vec![*a, *b]));
        }
    }
    out
}

/// Calls `visit` on every assignment of the mentioned facts (all known) for
/// `act`, until it returns `true`. Returns whether it did.
fn any_point(m: &Mentions, act: Act, mut visit: impl FnMut(&Facts) -> bool) -> bool {
    let agency = representatives(AgencyKind::ALL.len(), &m.agency, 0);
    let requester = representatives(RequesterKind::ALL.len(), &m.requester, 0);
    let purpose = representatives(
        Purpose::ALL.len(),
        &m.purpose,
        1 << Purpose::Unknown.index(),
    );
    let consent = representatives(Consent::ALL.len(), &m.consent, 0);
    // One data category at a time: a request mixing categories that the packs
    // treat differently is referred at run time, which is safe.
    let mut data = representatives(DataCategory::ALL.len(), &m.data, 0);
    data.push(0);
    let docs = document_options(m);
    let bool_facts: Vec<u8> = BoolFact::ALL
        .iter()
        .map(|b| b.bit())
        .filter(|bit| m.bools & bit != 0)
        .collect();
    let mut facts = Facts {
        agency: None,
        requester: None,
        act: 1 << act.index(),
        data: None,
        purpose: None,
        consent: None,
        documents: None,
        bool_known: m.bools,
        bool_value: 0,
    };
    for d in &docs {
        facts.documents.clone_from(d);
        for &ag in &agency {
            facts.agency = Some(ag);
            for &rq in &requester {
                facts.requester = Some(rq);
                for &pu in &purpose {
                    facts.purpose = Some(pu);
                    for &co in &consent {
                        facts.consent = Some(co);
                        for &da in &data {
                            facts.data = Some(da);
                            for combo in 0u32..(1 << bool_facts.len()) {
                                facts.bool_value = bool_facts
                                    .iter()
                                    .enumerate()
                                    .filter(|(i, _)| combo & (1 << i) != 0)
                                    .fold(0u8, |v, (_, b)| v | b);
                                if visit(&facts) {
                                    return true;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    false
}

/// Scratch space for [`active_in`], reused across the millions of points.
struct Scratch {
    engaged: Vec<Tri>,
    active: Vec<bool>,
}

/// Which of `set` (chain positions, sorted) are active on `facts` at `date`.
fn active_in<'s>(
    rules: &RuleSet,
    chain: &Chain,
    set: &[usize],
    facts: &Facts,
    date: NaiveDate,
    scratch: &'s mut Scratch,
) -> &'s [bool] {
    scratch.engaged.clear();
    scratch.engaged.resize(chain.order.len(), Tri::False);
    scratch.active.clear();
    scratch.active.resize(set.len(), false);
    let (engaged, active) = (&mut scratch.engaged, &mut scratch.active);
    // `set` is closed under exceptions and chain order puts exceptions first.
    for (i, &k) in set.iter().enumerate() {
        let (applies, defeated) = rules.step(chain, k, facts, date, |d| engaged[d]);
        engaged[k] = applies.or(defeated);
        active[i] = applies.and(defeated.not()) == Tri::True;
    }
    active
}

fn dates(rules: &RuleSet, chain: &Chain, set: &[usize]) -> Vec<NaiveDate> {
    let mut out: Vec<NaiveDate> = chain.earliest.into_iter().collect();
    for &k in set {
        let p = &rules.provisions[chain.order[k]];
        out.extend(p.from);
        out.extend(p.until);
    }
    out.sort();
    out.dedup();
    out
}

fn acts_of(mask: u32) -> impl Iterator<Item = Act> {
    Act::ALL
        .iter()
        .copied()
        .filter(move |a| mask & (1 << a.index()) != 0)
}

fn mentions_of(rules: &RuleSet, chain: &Chain, set: &[usize]) -> Mentions {
    let mut m = Mentions::default();
    for &k in set {
        m.add(&rules.provisions[chain.order[k]].compiled);
    }
    m
}

fn search_chain(
    rules: &RuleSet,
    chain: &Chain,
    reachable: &mut [bool],
    conflicts: &mut BTreeSet<(usize, usize, String)>,
    evaluated: &mut u64,
) {
    let n = chain.order.len();
    let mut scratch = Scratch {
        engaged: Vec::new(),
        active: Vec::new(),
    };
    // Reachability of each provision on its own.
    for k in 0..n {
        let p_index = chain.order[k];
        if reachable[p_index] {
            continue;
        }
        let set = chain.with_exceptions(&[k]);
        let me = set.iter().position(|x| *x == k).unwrap_or(0);
        let m = mentions_of(rules, chain, &set);
        'search: for date in dates(rules, chain, &set) {
            for act in acts_of(rules.provisions[p_index].compiled.act_mask()) {
                let found = any_point(&m, act, |facts| {
                    *evaluated += 1;
                    active_in(rules, chain, &set, facts, date, &mut scratch)[me]
                });
                if found {
                    reachable[p_index] = true;
                    break 'search;
                }
            }
        }
    }
    // Conflicts: comply against decline, no edge either way.
    for a in 0..n {
        for b in (a + 1)..n {
            let (pa, pb) = (
                &rules.provisions[chain.order[a]],
                &rules.provisions[chain.order[b]],
            );
            let opposed = matches!(
                (pa.outcome, pb.outcome),
                (Outcome::Comply, Outcome::Decline) | (Outcome::Decline, Outcome::Comply)
            );
            let acts = pa.compiled.act_mask() & pb.compiled.act_mask();
            if !opposed || acts == 0 {
                continue;
            }
            let (ia, ib) = (
                chain.order[a].min(chain.order[b]),
                chain.order[a].max(chain.order[b]),
            );
            if conflicts.iter().any(|(x, y, _)| *x == ia && *y == ib) {
                continue;
            }
            let set = chain.with_exceptions(&[a, b]);
            let (ka, kb) = (
                set.iter().position(|x| *x == a).unwrap_or(0),
                set.iter().position(|x| *x == b).unwrap_or(0),
            );
            let m = mentions_of(rules, chain, &set);
            'pair: for date in dates(rules, chain, &set) {
                for act in acts_of(acts) {
                    let mut example = None;
                    any_point(&m, act, |facts| {
                        *evaluated += 1;
                        let active = active_in(rules, chain, &set, facts, date, &mut scratch);
                        if active[ka] && active[kb] {
                            example = Some(format!(
                                "{} on {date} ({})",
                                describe(facts),
                                chain.packs.join(" + ")
                            ));
                        }
                        example.is_some()
                    });
                    if let Some(example) = example {
                        conflicts.insert((ia, ib, example));
                        break 'pair;
                    }
                }
            }
        }
    }
}

fn names<T: Copy + std::fmt::Display>(all: &[T], mask: u32) -> String {
    let picked: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, v)| v.to_string())
        .collect();
    picked.join("|")
}

/// A one-line description of an enumerated request, for findings.
fn describe(f: &Facts) -> String {
    let mut parts = vec![format!("act={}", names(Act::ALL, f.act))];
    let mut push = |name: &str, all: String| parts.push(format!("{name}={all}"));
    if let Some(a) = f.agency {
        push("agency", names(AgencyKind::ALL, a));
    }
    if let Some(r) = f.requester {
        push("requester", names(RequesterKind::ALL, r));
    }
    if let Some(d) = f.data.filter(|d| *d != 0) {
        push("data", names(DataCategory::ALL, d));
    }
    if let Some(p) = f.purpose {
        push("purpose", names(Purpose::ALL, p));
    }
    if let Some(c) = f.consent {
        push("consent", names(Consent::ALL, c));
    }
    if let Some(docs) = f.documents.as_ref().filter(|d| !d.is_empty()) {
        let d: Vec<String> = docs
            .iter()
            .map(|d| {
                format!(
                    "{}(signed_by={}, criminal={:?}, verified={:?})",
                    names(DocumentKind::ALL, d.kind),
                    d.signed_by.map_or(String::new(), |s| names(Signer::ALL, s)),
                    d.criminal,
                    d.verified
                )
            })
            .collect();
        push("documents", d.join(" + "));
    }
    for b in BoolFact::ALL {
        if f.bool_known & b.bit() != 0 {
            parts.push(format!(
                "{}={}",
                b.fact().path(),
                f.bool_value & b.bit() != 0
            ));
        }
    }
    parts.join(", ")
}
