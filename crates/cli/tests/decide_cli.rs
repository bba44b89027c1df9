//! The `citygate decide` and `citygate rules` commands, run as a user runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn citygate(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_citygate"));
    cmd.args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
    if let Some(text) = stdin {
        use std::io::Write as _;
        if let Some(mut s) = child.stdin.take() {
            let _ = s.write_all(text.as_bytes());
        }
    } else {
        drop(child.stdin.take());
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn decides_the_bundled_example() {
    let out = citygate(&["decide", "examples/detainer-at-the-jail.json"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("DECLINE"), "{stdout}");
    assert!(
        stdout.contains("Chicago Mun. Code § 2-173-020(a)(1)(C)"),
        "{stdout}"
    );
    assert!(stdout.contains("5 ILCS 805/15(a)"), "{stdout}");
}

#[test]
fn json_answer_carries_the_contract() {
    let out = citygate(
        &["decide", "--json", "examples/detainer-at-the-jail.json"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["outcome"], "decline");
    assert_eq!(v["law_date"], "2026-03-02");
    assert_eq!(v["rules_hash"].as_str().map(str::len), Some(64));
    assert!(v["deciding"]
        .as_array()
        .is_some_and(|d| d.iter().any(|x| x == "chicago.wco.020.a.1.C")));
    assert!(v["citations"].as_array().is_some_and(|c| c
        .iter()
        .all(|x| x["excerpt"].is_string() && x["confidence"].is_string())));
}

#[test]
fn refers_with_questions_from_stdin() {
    let out = citygate(
        &["decide", "--json", "-"],
        Some(
            r#"{"jurisdiction":"chicago","act":"share_information","agency":{"kind":"corrections"},"requester":{"kind":"immigration_agency"},"data":["release_date"]}"#,
        ),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["outcome"], "refer");
    assert_eq!(v["basis"], "missing_facts");
    assert!(v["questions"]
        .as_array()
        .is_some_and(|q| q.iter().any(|x| x["fact"] == "documents")));
}

/// (stdin, fragment of stderr)
const BAD: &[(&str, &str)] = &[
    ("not json", "request"),
    (
        r#"{"jurisdiction":"gotham","act":"detain"}"#,
        "jurisdiction: unknown variant",
    ),
    (
        r#"{"jurisdiction":"chicago","act":"detain","documents":[{"kind":"I-247A"}]}"#,
        "documents[0].kind",
    ),
    (
        r#"{"jurisdiction":"chicago","act":"detain","date":"1950-01-01"}"#,
        "date: 1950-01-01 is before every rule pack",
    ),
];

#[test]
fn bad_input_exits_2_naming_the_field() {
    for (input, fragment) in BAD {
        let out = citygate(&["decide", "-"], Some(input));
        assert_eq!(out.status.code(), Some(2), "{input}");
        let err = text(&out.stderr);
        assert!(err.contains(fragment), "{input}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = citygate(&["decide", "no/such/file.json"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read no/such/file.json"));
}

#[test]
fn rules_check_passes_on_the_shipped_packs() {
    let out = citygate(&["rules", "check"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("scenarios"),
        "{}",
        text(&out.stdout)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let p = entry.path();
        let dest = to.join(entry.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn rules_check_catches_a_deliberately_broken_pack() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_dir(&repo().join("rules"), dir.path());
    // Break the WCO: a misspelt document kind.
    let wco = dir.path().join("chicago/wco.toml");
    let text_before = std::fs::read_to_string(&wco).unwrap_or_default();
    let broken = text_before.replacen("\"immigration_detainer\"]", "\"immigration_detainr\"]", 1);
    assert_ne!(broken, text_before);
    std::fs::write(&wco, broken).unwrap_or_else(|e| panic!("{e}"));
    let out = citygate(
        &["rules", "check", "--rules", &dir.path().to_string_lossy()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("chicago/wco.toml:") && err.contains("unknown variant `immigration_detainr`"),
        "{err}"
    );

    // Restore it, then remove a scenario: a provision loses its test.
    std::fs::write(&wco, &text_before).unwrap_or_else(|e| panic!("{e}"));
    let table = dir.path().join("scenarios/chicago.toml");
    let t = std::fs::read_to_string(&table).unwrap_or_default();
    std::fs::write(
        &table,
        t.replace("deciding = [\"chicago.wco.030.a.1.counsel\"]", ""),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = citygate(
        &["rules", "check", "--rules", &dir.path().to_string_lossy()],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("`chicago.wco.030.a.1.counsel` has no test"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn rules_show_renders_citations_and_edges() {
    let out = citygate(&["rules", "show", "chicago"], None);
    assert!(out.status.success());
    let md = text(&out.stdout);
    assert!(md.contains("### `chicago.wco.020.a.1.C`: Chicago Mun. Code § 2-173-020(a)(1)(C)"));
    assert!(md.contains("generated precedence: federal statute: 8 U.S.C. § 1373 is a floor"));
    assert!(md.contains("[MEMORY]"));
    let out = citygate(&["rules", "show", "atlantis"], None);
    assert_eq!(out.status.code(), Some(2));
}
