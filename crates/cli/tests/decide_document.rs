//! `citygate decide --document`: the answer rests on what the reader found in the
//! paper, including a noisy phone photo read through OCR.

#[path = "../../reader/tests/support/render.rs"]
mod render;

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn decide_json(document: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_citygate"))
        .current_dir(repo())
        .args([
            "decide",
            "--json",
            "examples/hold-request-at-the-jail.json",
            "--document",
        ])
        .arg(document)
        .output()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

fn corpus(name: &str) -> PathBuf {
    repo().join("testdata/documents").join(name)
}

/// Render a corpus text as a noisy phone photo (JPEG), the way the reader's own
/// OCR tests do.
fn photo(name: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(corpus(name)).unwrap_or_else(|e| panic!("{e}"));
    let pdf = dir.join("page.pdf");
    render::text_pdf(&text, &pdf);
    let (jpeg, _, _) = render::noisy_photo(&pdf, dir, 200, render::Noise::phone(), 7);
    let out = dir.join(format!("{name}.jpg"));
    std::fs::write(&out, jpeg).unwrap_or_else(|e| panic!("{e}"));
    out
}

#[test]
fn a_detainer_text_is_declined_and_the_answer_names_the_paper() {
    let v = decide_json(&corpus("i247a_detainer.txt"));
    assert_eq!(v["outcome"], "decline", "{v:#}");
    let from = v["from_documents"].as_array().cloned().unwrap_or_default();
    assert!(
        from.iter()
            .any(|d| d["document"]["kind"] == "immigration_detainer"),
        "{v:#}"
    );
}

#[test]
fn a_magistrates_criminal_warrant_text_is_complied_with() {
    let v = decide_json(&corpus("ao442_arrest_warrant_1326.txt"));
    assert_eq!(v["outcome"], "comply", "{v:#}");
    assert_eq!(
        v["deciding"][0], "federal.judicial-warrant.criminal.custody",
        "{v:#}"
    );
}

#[test]
fn photos_of_a_detainer_and_of_a_criminal_warrant() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let detainer = photo("i247a_detainer.txt", dir.path());
    let v = decide_json(&detainer);
    assert_eq!(v["outcome"], "decline", "{v:#}");
    let warrant_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let warrant = photo("ao442_arrest_warrant_1326.txt", warrant_dir.path());
    let v = decide_json(&warrant);
    assert_eq!(v["outcome"], "comply", "{v:#}");
}

#[test]
fn an_unreadable_document_is_bad_input() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let empty = dir.path().join("empty.pdf");
    std::fs::write(&empty, b"").unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_citygate"))
        .current_dir(repo())
        .args([
            "decide",
            "examples/hold-request-at-the-jail.json",
            "--document",
        ])
        .arg(&empty)
        .output()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("empty.pdf"), "{err}");
}
