//! The accuracy targets on a fixed-seed synthetic corpus. Fails when any target is missed.
//! (Figures for larger corpora: `redaction-corpus evaluate`, see BENCHMARKS.md.)

use citygate_redaction::corpus::generate;
use citygate_redaction::eval::evaluate;
use citygate_redaction::{EntityKind, Policy, Redactor};

#[test]
fn targets_met_on_fixed_seed_corpus() {
    let redactor = Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap();
    for seed in [7, 2026] {
        let corpus = generate(seed, 600);
        let report = evaluate(&redactor, &corpus);
        // Every kind is present in the corpus, so no target passes vacuously.
        for kind in EntityKind::ALL {
            assert!(
                report.kind(kind).gold >= 20,
                "seed {seed}: corpus has too few {kind}: {}",
                report.kind(kind).gold
            );
        }
        assert!(report.columns >= 20);
        let failures = report.target_failures();
        assert!(
            failures.is_empty(),
            "seed {seed}: targets missed:\n{}\n{}",
            failures.join("\n"),
            report.table()
        );
        for kind in [
            EntityKind::Ssn,
            EntityKind::ANumber,
            EntityKind::DriverLicense,
        ] {
            assert_eq!(report.kind(kind).leaked, 0, "{kind} leaked");
        }
    }
}

#[test]
fn the_scorer_notices_a_weak_redactor() {
    // A policy that keeps names must show name leaks: the evaluation can fail.
    let redactor = Redactor::new(Policy::shipped("arrest-report-2-15").unwrap()).unwrap();
    let report = evaluate(&redactor, &generate(7, 200));
    assert!(report.kind(EntityKind::Person).leaked > 100);
    assert!(report
        .target_failures()
        .iter()
        .any(|f| f.contains("leak rate")));
}
