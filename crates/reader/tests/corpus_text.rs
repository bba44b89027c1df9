//! Every corpus document read from its text file: 100% required, fields included.

mod support;

use citygate_reader::{read_file, Limits};
use support::{corpus_dir, decision_mismatches, field_mismatches, load_expected, report};

#[test]
fn corpus_has_every_kind_and_at_least_40_documents() {
    let expected = load_expected();
    assert!(expected.len() >= 40, "only {} documents", expected.len());
    for kind in [
        "civil_immigration_warrant",
        "immigration_detainer",
        "administrative_subpoena",
        "judicial_warrant",
        "court_order",
        "court_subpoena",
        "grand_jury_subpoena",
        "immigration_judge_order",
        "written_consent",
        "records_request",
        "agreement",
        "none",
    ] {
        assert!(
            expected.iter().any(|e| e.kind == kind),
            "no document of kind {kind}"
        );
    }
    for e in &expected {
        assert!(corpus_dir().join(&e.file).is_file(), "{} missing", e.file);
    }
}

#[test]
fn text_corpus_is_read_right() {
    let limits = Limits::default();
    let results: Vec<_> = load_expected()
        .into_iter()
        .map(|expected| {
            let path = corpus_dir().join(&expected.file);
            let mismatches = match read_file(&path, &limits) {
                Ok(file) => {
                    let mut m = decision_mismatches(&expected, &file.reading);
                    m.extend(field_mismatches(&expected, &file.reading));
                    m
                }
                Err(err) => vec![format!("error: {err}")],
            };
            (expected, mismatches)
        })
        .collect();
    let (right, total) = report("text", &results);
    assert_eq!(right, total, "clean text must be read right in every case");
}
