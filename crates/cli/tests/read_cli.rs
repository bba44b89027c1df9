//! `citygate read` and `citygate decide --document`, run as a user runs them.

#[path = "../../reader/tests/support/render.rs"]
mod render;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus(file: &str) -> String {
    repo()
        .join("testdata/documents")
        .join(file)
        .display()
        .to_string()
}

fn citygate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_citygate"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("spawn: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn human_output_names_kind_signer_and_evidence() {
    let out = citygate(&["read", &corpus("ao442_arrest_warrant_1326.txt")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("kind:       judicial_warrant"), "{text}");
    assert!(text.contains("signed by:  magistrate_judge"), "{text}");
    assert!(text.contains("criminal:   yes"), "{text}");
    assert!(
        text.contains("signer:     Miriam T. Castellanos, United States Magistrate Judge"),
        "{text}"
    );
    assert!(text.contains("8 U.S.C. § 1326(a)"), "{text}");
    assert!(
        text.contains("line   3  United States District Court"),
        "{text}"
    );
}

#[test]
fn uncertain_packet_says_refer_and_why() {
    let out = citygate(&[
        "read",
        &corpus("i247a_detainer.txt"),
        &corpus("cook_county_court_order.txt"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("packet: UNCERTAIN"), "{text}");
    assert!(text.contains("refer to counsel"), "{text}");
}

#[test]
fn json_output_carries_documents_for_the_engine() {
    let out = citygate(&[
        "read",
        "--json",
        &corpus("i247a_detainer.txt"),
        &corpus("i200_warrant_for_arrest.txt"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(json["overall"]["kind"], "immigration_detainer");
    assert_eq!(json["overall"]["uncertain"], false);
    assert_eq!(json["documents"][0]["kind"], "immigration_detainer");
    assert_eq!(json["documents"][1]["kind"], "civil_immigration_warrant");
    assert_eq!(
        json["files"][0]["reading"]["fields"]["form_number"],
        "I-247A"
    );
    assert_eq!(json["files"][0]["reading"]["evidence"][0]["line"], 1);
}

#[test]
fn bad_input_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("scan.pdf");
    std::fs::write(&empty, b"").expect("write");
    let out = citygate(&["read", &empty.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("scan.pdf: the file is empty"),
        "{}",
        stderr(&out)
    );
}

fn photo(file: &str, dir: &Path) -> String {
    let text = std::fs::read_to_string(corpus(file)).expect("corpus");
    let pdf = dir.join("clean.pdf");
    render::text_pdf(&text, &pdf);
    let (jpeg, ..) = render::noisy_photo(&pdf, dir, 300, render::Noise::phone(), 3);
    let path = dir.join("photo.jpg");
    std::fs::write(&path, jpeg).expect("photo");
    path.display().to_string()
}

/// The issue's "done when": a photo of a detainer gives `decline`; a photo of a
/// magistrate judge's criminal arrest warrant gives `comply`; the answer shows
/// which facts came from the document.
#[test]
fn decide_answers_from_photos_of_a_detainer_and_of_a_magistrate_warrant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let request = dir.path().join("request.json");
    for (file, act_json, outcome) in [
        (
            "i247a_detainer.txt",
            r#"{"jurisdiction":"chicago","agency":{"kind":"corrections"},"requester":{"kind":"immigration_agency"},"act":"detain","purpose":"civil_immigration_enforcement","subject":{"in_custody":true}}"#,
            "decline",
        ),
        (
            "ao442_arrest_warrant_1326.txt",
            r#"{"jurisdiction":"chicago","agency":{"kind":"law_enforcement"},"requester":{"kind":"federal_law_enforcement"},"act":"detain","purpose":"criminal_investigation","subject":{"in_custody":true}}"#,
            "comply",
        ),
    ] {
        let work = dir.path().join(file.replace(".txt", ""));
        std::fs::create_dir_all(&work).expect("dir");
        let jpg = photo(file, &work);
        std::fs::write(&request, act_json).expect("request");
        let out = citygate(&[
            "decide",
            "--json",
            &request.display().to_string(),
            "--document",
            &jpg,
        ]);
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        assert_eq!(json["outcome"], outcome, "{file}: {json}");
        let from = &json["from_documents"][0];
        assert!(
            from["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("photo.jpg")),
            "{from}"
        );
        assert!(
            from["evidence"].as_array().is_some_and(|e| !e.is_empty()),
            "{from}"
        );
    }
}
