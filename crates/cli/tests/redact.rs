//! `citygate redact` end to end: a folder of mixed records becomes a release plus its log.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn citygate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_citygate"))
}

/// `citygate redact INPUT --out OUT` with more flags, run to completion.
fn redact(input: &Path, out: &Path, flags: &[&OsStr]) -> Output {
    citygate()
        .arg("redact")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(flags)
        .output()
        .unwrap()
}

fn temp(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("citygate-cli-redact-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn folder_of_mixed_records_becomes_a_release() {
    let dir = temp("mixed");
    let input = dir.join("records");
    fs::create_dir_all(input.join("sub")).unwrap();
    fs::write(
        input.join("report.txt"),
        "ARRESTEE: GARCIA, JUAN  SSN 512-44-9012\nGarcia is undocumented.\n",
    )
    .unwrap();
    fs::write(
        input.join("sub/booking.csv"),
        "name,dl,charge\nAna Lopez,S530-4128-1234,THEFT\n",
    )
    .unwrap();
    fs::write(
        input.join("cases.jsonl"),
        "{\"name\":\"Wei Zhang\",\"a_number\":\"A201234567\"}\n",
    )
    .unwrap();
    fs::write(input.join("broken.csv"), "a,b\n1\n").unwrap();
    fs::write(input.join("photo.jpg"), [0xff, 0xd8]).unwrap();
    let out = dir.join("release");
    let review = dir.join("review.jsonl");
    let result = redact(&input, &out, &[OsStr::new("--review"), review.as_os_str()]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(
        result.status.code(),
        Some(2),
        "one bad file means exit 2\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("broken.csv") && stderr.contains("line 2"),
        "{stderr}"
    );
    let report = fs::read_to_string(out.join("report.txt")).unwrap();
    assert!(
        !report.contains("GARCIA")
            && !report.contains("Garcia")
            && !report.contains("512-44-9012")
            && !report.contains("undocumented"),
        "{report}"
    );
    let booking = fs::read_to_string(out.join("booking.csv")).unwrap();
    assert!(
        !booking.contains("Lopez") && !booking.contains("S530") && booking.contains("THEFT"),
        "{booking}"
    );
    let cases = fs::read_to_string(out.join("cases.jsonl")).unwrap();
    assert!(
        !cases.contains("Zhang") && !cases.contains("A201234567"),
        "{cases}"
    );
    assert!(!out.join("broken.csv").exists() && !out.join("photo.jpg").exists());
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("redaction-summary.json")).unwrap()).unwrap();
    assert_eq!(summary["policy"], "foia-general");
    assert_eq!(summary["files"].as_array().unwrap().len(), 3);
    assert_eq!(summary["failed"].as_array().unwrap().len(), 1);
    let log = fs::read_to_string(out.join("redaction-log.jsonl")).unwrap();
    assert!(
        log.lines().count() >= 8 && !log.contains("512-44-9012") && !log.contains("GARCIA"),
        "{log}"
    );
    assert!(review.exists());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn policies_are_listed_and_unknown_ones_refused() {
    let listed = citygate()
        .args(["redact", "--list-policies"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success()
            && text.contains("foia-general (default)")
            && text.contains("arrest-report-2-15"),
        "{text}"
    );
    let dir = temp("policy");
    fs::write(dir.join("a.txt"), "x").unwrap();
    let bad = citygate()
        .arg("redact")
        .arg(dir.join("a.txt"))
        .arg("--out")
        .arg(dir.join("o"))
        .args(["--policy", "nope"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("no policy named") && err.contains("foia-general"),
        "{err}"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// The PDF parser panics on this file (its font object's header is broken, so the page's
/// font reference leads nowhere). The file must be reported as failed, and standard error must
/// not carry the panic's message, which for other files quotes the PDF object, text included.
#[test]
fn a_parser_panic_fails_the_file_without_printing_its_message() {
    const BROKEN_FONT: &str = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [4 0 R] /Count 1 >>\nendobj\n3 0 xbj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n4 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>\nendobj\n5 0 obj\n<< /Length 70 >>\nstream\nBT /F1 12 Tf 72 720 Td (ARRESTEE Maria Kowalski SSN 512-44-9012) Tj ET\nendstream\nendobj\nxref\n0 6\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \n0000000185 00000 n \n0000000311 00000 n \ntrailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n431\n%%EOF\n";
    let dir = temp("panic");
    let input = dir.join("records");
    fs::create_dir_all(&input).unwrap();
    fs::write(input.join("report.pdf"), BROKEN_FONT).unwrap();
    let out = dir.join("release");
    let result = redact(&input, &out, &[]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("report.pdf: malformed PDF") && stderr.contains("message is withheld"),
        "{stderr}"
    );
    for quoted in [
        "missing object reference",
        "ObjectNotFound",
        "Kowalski",
        "512-44-9012",
    ] {
        assert!(
            !stderr.contains(quoted),
            "{quoted} on standard error: {stderr}"
        );
    }
    assert!(!out.join("report.pdf.txt").exists());
    let _ = fs::remove_dir_all(&dir);
}

/// `--review` lists a candidate; the officer marks it `redact` in a copy of the list; the next
/// run with `--decisions` redacts it and lists nothing. A decisions file inside the release
/// folder, or the same file as `--review`, is refused before anything is written.
#[test]
fn decisions_from_the_review_list_are_applied() {
    let dir = temp("decisions");
    let input = dir.join("records");
    fs::create_dir_all(&input).unwrap();
    fs::write(
        input.join("notes.txt"),
        "Someone said 512449012 at the desk.\n",
    )
    .unwrap();
    let out = dir.join("release");
    let review = dir.join("review.jsonl");
    let first = redact(&input, &out, &[OsStr::new("--review"), review.as_os_str()]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let listed = fs::read_to_string(&review).unwrap();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let decided = listed.replace("}\n", ",\"decision\":\"redact\"}\n");
    let decisions = dir.join("decisions.jsonl");
    fs::write(&decisions, &decided).unwrap();
    let second = redact(
        &input,
        &out,
        &[
            OsStr::new("--review"),
            dir.join("still-open.jsonl").as_os_str(),
            OsStr::new("--decisions"),
            decisions.as_os_str(),
        ],
    );
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(stdout.contains("1 decided candidate value(s)"), "{stdout}");
    let released = fs::read_to_string(out.join("notes.txt")).unwrap();
    assert!(
        !released.contains("512449012") && released.contains("[REDACTED"),
        "{released}"
    );
    assert_eq!(
        fs::read_to_string(dir.join("still-open.jsonl")).unwrap(),
        ""
    );
    // Refused: inside the release folder, the same file as --review, a bad decision.
    let inside = out.join("decisions.jsonl");
    fs::write(&inside, &decided).unwrap();
    fs::write(
        dir.join("bad.jsonl"),
        decided.replace("\"redact\"", "\"maybe\""),
    )
    .unwrap();
    for (decisions, review, expected) in [
        (
            &inside,
            dir.join("r.jsonl"),
            "must not be inside the release folder",
        ),
        (&decisions, decisions.clone(), "are the same file"),
        (
            &dir.join("bad.jsonl"),
            dir.join("r.jsonl"),
            "line 1: `decision` must be \"redact\" or \"keep\"",
        ),
    ] {
        let refused = redact(
            &input,
            &out,
            &[
                OsStr::new("--review"),
                review.as_os_str(),
                OsStr::new("--decisions"),
                decisions.as_os_str(),
            ],
        );
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains("512449012"), "{stderr}");
    }
    let _ = fs::remove_dir_all(&dir);
}
