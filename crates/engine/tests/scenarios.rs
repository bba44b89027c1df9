//! The scenario tables under `rules/scenarios/`: every case must get its expected
//! answer from the shipped packs.

use citygate_engine::packs::{embedded_packs, embedded_scenarios};
use citygate_engine::scenario::{self, Scenario};
use citygate_engine::vocab::{Act, Jurisdiction};
use citygate_engine::RuleSet;

fn all() -> (RuleSet, Vec<Scenario>) {
    let rules = RuleSet::load(&embedded_packs()).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for (file, text) in embedded_scenarios() {
        out.extend(scenario::parse(file, text).unwrap_or_else(|e| panic!("{e}")));
    }
    (rules, out)
}

#[test]
fn every_scenario_gets_its_expected_answer() {
    let (rules, scenarios) = all();
    let failures: Vec<String> = scenarios
        .iter()
        .filter_map(|s| scenario::run(&rules, s))
        .map(|m| m.to_string())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ:\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_is_broad() {
    let (_, scenarios) = all();
    assert!(scenarios.len() >= 80, "only {} scenarios", scenarios.len());
    for act in Act::ALL {
        assert!(
            scenarios.iter().any(|s| s.request.act == *act),
            "no scenario for act {act}"
        );
    }
    for j in Jurisdiction::ALL {
        assert!(
            scenarios.iter().any(|s| s.request.jurisdiction == *j),
            "no scenario for jurisdiction {j}"
        );
    }
}
