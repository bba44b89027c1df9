//! Decision latency: p50 and p99 from typed requests and from JSON, on the real
//! packs, and the same core provisions (WCO 2-173-020(a), TRUST 15(h)) in Cedar,
//! evaluated on the same requests in the same run.
//!
//! Run: `cargo bench -p citygate-bench --bench decide`

use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use cedar_policy::{Authorizer, Context, Entities, EntityUid, PolicySet, Request as CedarRequest};
use chrono::NaiveDate;
use citygate_engine::packs::{embedded_packs, embedded_scenarios};
use citygate_engine::scenario;
use citygate_engine::vocab::{Act, DocumentKind, Jurisdiction, Request, RequesterKind, Signer};
use citygate_engine::{Outcome, RuleSet};

/// WCO 2-173-020(a) and TRUST 15(h) with the federal criminal-warrant exception,
/// written the way Cedar expresses them: forbids with `unless` for exceptions.
const CEDAR_POLICIES: &str = r#"
permit(principal, action, resource);

// WCO 2-173-020(a)(1)(B), (C): no detention on a detainer or administrative warrant.
forbid(principal, action in [Action::"detain", Action::"transfer_custody"], resource)
when { context.documents.containsAny(["immigration_detainer", "civil_immigration_warrant", "immigration_judge_order"]) }
unless { context.federal_criminal_warrant };

// WCO 2-173-020(a)(1)(A): not solely for civil immigration enforcement.
forbid(principal, action == Action::"detain", resource)
when { context.purpose == "civil_immigration_enforcement" }
unless { context.federal_criminal_warrant };

// WCO 2-173-020(a)(2)(A), (a)(2)(B), (a)(4).
forbid(principal == Requester::"immigration_agency", action in [Action::"grant_access_to_person", Action::"grant_facility_use", Action::"enter_agreement"], resource)
unless { action == Action::"grant_access_to_person" && context.federal_criminal_warrant };

// WCO 2-173-020(a)(3): custody status, release date, contact information.
forbid(principal == Requester::"immigration_agency", action == Action::"share_information", resource)
when { context.data.containsAny(["custody_status", "release_date", "contact_information"]) }
unless { context.federal_criminal_warrant };

// WCO 2-173-020(a)(5).
forbid(principal == Requester::"immigration_agency", action == Action::"transfer_custody", resource)
when { context.purpose == "civil_immigration_enforcement" || context.documents.containsAny(["immigration_detainer", "civil_immigration_warrant", "immigration_judge_order"]) }
unless { context.federal_criminal_warrant };

// WCO 2-173-020(a)(6).
forbid(principal, action == Action::"assist_operation", resource)
when { context.purpose == "civil_immigration_enforcement" || (principal == Requester::"immigration_agency" && context.purpose != "criminal_investigation") };

// TRUST Act 15(h)(1)-(7): law enforcement agencies, unless a federal criminal warrant.
forbid(principal == Requester::"immigration_agency", action in [Action::"assist_operation", Action::"grant_access_to_person", Action::"transfer_custody", Action::"grant_facility_use", Action::"grant_database_access", Action::"share_information"], resource)
when { resource == Agency::"law_enforcement" || resource == Agency::"corrections" }
unless { context.federal_criminal_warrant };
"#;

struct Case {
    request: Request,
    json: String,
    cedar: CedarRequest,
}

fn cedar_request(r: &Request) -> Option<CedarRequest> {
    let requester = r.requester.as_ref().map_or("unknown", |p| p.kind.as_str());
    let agency = r.agency.as_ref().map_or("unknown", |p| p.kind.as_str());
    let docs: Vec<&str> = r
        .documents
        .iter()
        .flatten()
        .map(|d| d.kind.as_str())
        .collect();
    let fcw = r.documents.iter().flatten().any(|d| {
        d.kind == DocumentKind::JudicialWarrant
            && d.criminal == Some(true)
            && matches!(
                d.signed_by,
                Some(Signer::FederalJudge | Signer::MagistrateJudge)
            )
    });
    let data: Vec<&str> = r.data.iter().flatten().map(|d| d.as_str()).collect();
    let context = serde_json::json!({
        "documents": docs,
        "data": data,
        "purpose": r.purpose.map_or("unknown", |p| p.as_str()),
        "federal_criminal_warrant": fcw,
    });
    CedarRequest::new(
        EntityUid::from_str(&format!("Requester::\"{requester}\"")).ok()?,
        EntityUid::from_str(&format!("Action::\"{}\"", r.act)).ok()?,
        EntityUid::from_str(&format!("Agency::\"{agency}\"")).ok()?,
        Context::from_json_value(context, None).ok()?,
        None,
    )
    .ok()
}

/// Blocks measured; each block's p50 and p99 are computed, and the median block
/// is reported, so a burst of load from another process on this shared machine
/// moves one block, not the figure.
const BLOCKS: usize = 15;

/// Per-call latencies in nanoseconds: `BLOCKS` blocks of `rounds / BLOCKS`
/// passes over the cases, each block sorted.
fn sample(cases: usize, rounds: usize, mut f: impl FnMut(usize)) -> Vec<Vec<u64>> {
    let per_block = (rounds / BLOCKS).max(1);
    (0..BLOCKS)
        .map(|_| {
            let mut out = Vec::with_capacity(cases * per_block);
            for _ in 0..per_block {
                for i in 0..cases {
                    let t = Instant::now();
                    f(i);
                    out.push(t.elapsed().as_nanos() as u64);
                }
            }
            out.sort_unstable();
            out
        })
        .collect()
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0) as f64 / 1000.0
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

fn report(name: &str, blocks: &[Vec<u64>]) -> (f64, f64) {
    let p50 = median(blocks.iter().map(|b| pct(b, 0.50)).collect());
    let p99 = median(blocks.iter().map(|b| pct(b, 0.99)).collect());
    let n: usize = blocks.iter().map(Vec::len).sum();
    println!(
        "{name:<44} p50 {p50:>7.3} µs   p99 {p99:>7.3} µs   (median of {BLOCKS} blocks, {n} calls)"
    );
    (p50, p99)
}

fn main() {
    let rules = RuleSet::load(&embedded_packs()).unwrap_or_else(|e| panic!("{e}"));
    let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
    let scenarios: Vec<_> = embedded_scenarios()
        .into_iter()
        .flat_map(|(f, t)| scenario::parse(f, t).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let all: Vec<Request> = scenarios.iter().map(|s| s.request.clone()).collect();
    let jsons: Vec<String> = all
        .iter()
        .map(|r| serde_json::to_string(r).unwrap_or_default())
        .collect();

    println!(
        "citygate decide, {} scenario requests, all jurisdictions",
        all.len()
    );
    let typed = sample(all.len(), 3000, |i| {
        black_box(
            rules
                .decide(black_box(&all[i]), today)
                .map(|a| a.outcome)
                .ok(),
        );
    });
    report("engine, typed request -> answer", &typed);
    let from_json = sample(all.len(), 3000, |i| {
        let r = Request::from_json(black_box(&jsons[i])).ok();
        black_box(r.and_then(|r| rules.decide(&r, today).map(|a| a.outcome).ok()));
    });
    report("engine, JSON -> answer", &from_json);
    let to_json = sample(all.len(), 1000, |i| {
        let a = rules.decide(&all[i], today).ok();
        black_box(a.map(|a| serde_json::to_string(&a).map(|s| s.len())));
    });
    report("engine, typed -> answer serialised to JSON", &to_json);

    // The core-provision comparison: Chicago requests for the acts those provisions cover.
    let core_acts = [
        Act::Detain,
        Act::TransferCustody,
        Act::GrantAccessToPerson,
        Act::GrantFacilityUse,
        Act::ShareInformation,
        Act::GrantDatabaseAccess,
        Act::AssistOperation,
        Act::EnterAgreement,
    ];
    let cases: Vec<Case> = all
        .iter()
        .zip(&jsons)
        .filter(|(r, _)| r.jurisdiction == Jurisdiction::Chicago && core_acts.contains(&r.act))
        .filter(|(r, _)| {
            r.requester
                .as_ref()
                .is_some_and(|p| p.kind != RequesterKind::Subject)
        })
        .filter_map(|(r, j)| {
            Some(Case {
                request: r.clone(),
                json: j.clone(),
                cedar: cedar_request(r)?,
            })
        })
        .collect();
    let policies = PolicySet::from_str(CEDAR_POLICIES).unwrap_or_else(|e| panic!("{e}"));
    let entities = Entities::empty();
    let authorizer = Authorizer::new();
    let mut agree = 0;
    for c in &cases {
        let cedar_denies = authorizer
            .is_authorized(&c.cedar, &policies, &entities)
            .decision()
            == cedar_policy::Decision::Deny;
        let ours_declines = rules
            .decide(&c.request, today)
            .map(|a| a.outcome == Outcome::Decline)
            .unwrap_or(false);
        agree += usize::from(cedar_denies == ours_declines);
    }
    println!(
        "\ncore provisions (WCO 2-173-020(a), TRUST 15(h)), {} Chicago requests; decline/deny agree on {}",
        cases.len(),
        agree
    );
    let ours = sample(cases.len(), 5000, |i| {
        black_box(
            rules
                .decide(black_box(&cases[i].request), today)
                .map(|a| a.outcome)
                .ok(),
        );
    });
    let (o50, o99) = report("engine (all packs, with explanation)", &ours);
    let cedar = sample(cases.len(), 5000, |i| {
        black_box(
            authorizer
                .is_authorized(black_box(&cases[i].cedar), &policies, &entities)
                .decision(),
        );
    });
    let (c50, c99) = report("cedar-policy (core provisions only)", &cedar);
    let ours_json = sample(cases.len(), 2000, |i| {
        let r = Request::from_json(black_box(&cases[i].json)).ok();
        black_box(r.and_then(|r| rules.decide(&r, today).map(|a| a.outcome).ok()));
    });
    report("engine from JSON", &ours_json);
    println!(
        "ratio cedar/engine: p50 {:.1}x, p99 {:.1}x",
        c50 / o50.max(1e-9),
        c99 / o99.max(1e-9)
    );
}
