//! The corpus under testdata/documents and its expected readings, shared by the
//! text, PDF and image accuracy tests.
#![allow(dead_code)]

pub mod render;

use std::collections::BTreeMap;
use std::path::PathBuf;

use citygate_reader::Reading;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub file: String,
    pub kind: String,
    pub signed_by: Option<String>,
    pub criminal: Option<bool>,
    #[serde(default)]
    pub uncertain: bool,
    pub reason: Option<String>,
    pub candidates: Option<Vec<String>>,
    pub trap: Option<String>,
    pub form_number: Option<String>,
    pub case_number: Option<String>,
    pub subject_name: Option<String>,
    pub signer_name: Option<String>,
    pub issued: Option<String>,
    pub expires: Option<String>,
}

#[derive(Deserialize)]
struct ExpectedFile {
    document: Vec<Expected>,
}

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/documents")
}

pub fn load_expected() -> Vec<Expected> {
    let text = std::fs::read_to_string(corpus_dir().join("expected.toml"))
        .expect("expected.toml readable");
    let parsed: ExpectedFile = toml::from_str(&text).expect("expected.toml valid");
    parsed.document
}

pub fn expected_for(file: &str) -> Expected {
    load_expected()
        .into_iter()
        .find(|e| e.file == file)
        .unwrap_or_else(|| panic!("{file} not in expected.toml"))
}

fn wire<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Mismatches of the decision itself: kind, signer, criminal, certainty.
pub fn decision_mismatches(expected: &Expected, reading: &Reading) -> Vec<String> {
    let mut out = Vec::new();
    let kind = reading
        .kind
        .map(|k| wire(&k))
        .unwrap_or_else(|| "none".to_string());
    if kind != expected.kind {
        out.push(format!("kind {kind}, expected {}", expected.kind));
    }
    let signed_by = reading.signed_by.map(|s| wire(&s));
    if signed_by != expected.signed_by {
        out.push(format!(
            "signed_by {signed_by:?}, expected {:?}",
            expected.signed_by
        ));
    }
    if reading.criminal != expected.criminal {
        out.push(format!(
            "criminal {:?}, expected {:?}",
            reading.criminal, expected.criminal
        ));
    }
    if reading.uncertain != expected.uncertain {
        out.push(format!(
            "uncertain {} ({:?}), expected {}",
            reading.uncertain, reading.reasons, expected.uncertain
        ));
    }
    if let Some(reason) = &expected.reason {
        if !reading.reasons.iter().any(|r| r.contains(reason.as_str())) {
            out.push(format!("reasons {:?} lack {reason:?}", reading.reasons));
        }
    }
    if let Some(candidates) = &expected.candidates {
        let got: Vec<String> = reading.candidates.iter().map(wire).collect();
        if &got != candidates {
            out.push(format!("candidates {got:?}, expected {candidates:?}"));
        }
    }
    // The invariant: never judicial with an administrative marker present.
    let administrative = reading
        .evidence
        .iter()
        .any(|e| e.family.is_administrative());
    let judicial = reading.kind.is_some_and(|k| {
        matches!(
            wire(&k).as_str(),
            "judicial_warrant" | "court_order" | "court_subpoena" | "grand_jury_subpoena"
        )
    });
    if administrative && judicial && !reading.uncertain {
        out.push("reported a court paper although administrative markers are present".to_string());
    }
    out
}

/// Mismatches of the particulars read off the document.
pub fn field_mismatches(expected: &Expected, reading: &Reading) -> Vec<String> {
    let f = &reading.fields;
    let mut out = Vec::new();
    let mut check = |name: &str, want: &Option<String>, got: Option<String>| {
        if let Some(want) = want {
            if got.as_deref() != Some(want.as_str()) {
                out.push(format!("{name} {got:?}, expected {want:?}"));
            }
        }
    };
    check("form_number", &expected.form_number, f.form_number.clone());
    check("case_number", &expected.case_number, f.case_number.clone());
    check(
        "subject_name",
        &expected.subject_name,
        f.subject_name.clone(),
    );
    check("signer_name", &expected.signer_name, f.signer_name.clone());
    check("issued", &expected.issued, f.issued.map(|d| d.to_string()));
    check(
        "expires",
        &expected.expires,
        f.expires.map(|d| d.to_string()),
    );
    out
}

/// Print accuracy per expected kind; return (right, total).
pub fn report(path_name: &str, results: &[(Expected, Vec<String>)]) -> (usize, usize) {
    let mut per_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (expected, mismatches) in results {
        let entry = per_kind.entry(expected.kind.as_str()).or_default();
        entry.1 += 1;
        if mismatches.is_empty() {
            entry.0 += 1;
        } else {
            println!(
                "MISS [{path_name}] {}: {}",
                expected.file,
                mismatches.join("; ")
            );
        }
    }
    println!("accuracy per kind ({path_name}):");
    for (kind, (right, total)) in &per_kind {
        println!("  {kind:<28} {right}/{total}");
    }
    let right: usize = per_kind.values().map(|v| v.0).sum();
    let total: usize = per_kind.values().map(|v| v.1).sum();
    println!(
        "  {:<28} {right}/{total} ({:.1}%)",
        "all",
        100.0 * right as f64 / total.max(1) as f64
    );
    (right, total)
}
