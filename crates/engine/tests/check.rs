//! `rules check` on the shipped packs, and on deliberately broken ones.

use citygate_engine::check::check;
use citygate_engine::packs::{embedded_packs, embedded_scenarios};
use citygate_engine::scenario::{self, Scenario};
use citygate_engine::RuleSet;

fn scenarios() -> Vec<Scenario> {
    embedded_scenarios()
        .into_iter()
        .flat_map(|(f, t)| scenario::parse(f, t).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn shipped_packs_pass() {
    let rules = RuleSet::load(&embedded_packs()).unwrap_or_else(|e| panic!("{e}"));
    let report = check(&rules, &scenarios());
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(
        report.points > 1000,
        "searched only {} requests",
        report.points
    );
}
