//! Files end to end through `Release`: text, CSV/TSV with column classification, nested JSON and
//! JSON Lines, the redaction log (never an original value), pseudonyms, atomic outputs and clear
//! errors on bad input.

use std::fs;
use std::path::{Path, PathBuf};

use citygate_redaction::release::{Release, LOG_FILE, SUMMARY_FILE};
use citygate_redaction::{Policy, Redactor};

mod common;
use common::tiny_pdf;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "citygate-redaction-test-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn redactor(policy: &str) -> Redactor {
    Redactor::new(Policy::shipped(policy).unwrap()).unwrap()
}

fn release_one(r: &Redactor, dir: &Path, name: &str, content: &[u8]) -> Result<String, String> {
    let input = dir.join("in");
    fs::create_dir_all(&input).unwrap();
    let file = input.join(name);
    fs::write(&file, content).unwrap();
    let out = dir.join("out");
    let mut release = Release::create(&out, None, r).unwrap();
    let result = release
        .add(r, &file, &|_| {})
        .map(|_| ())
        .map_err(|e| e.to_string());
    release.finish().unwrap();
    result.map(|_| String::from_utf8_lossy(&fs::read(out.join(name)).unwrap()).into_owned())
}

const BOOKING: &str = "booking_no,LNAME,FNAME,D.O.B.,id_2,home_address,POB,charge,officer_badge,notes
20010001,GARCIA,JUAN,03/15/1987,512-44-9012,2345 W Cermak Rd,Mexico,RETAIL THEFT,12345,GARCIA STATED HE IS UNDOCUMENTED
20010002,KOWALSKI,MARIA,1990-07-04,423-11-7788,10 N State St,Poland,TRESPASS,12346,NO STATEMENT
20010003,WANG,WEI,11/30/1975,301-22-4455,55 E Jackson Blvd,China,BATTERY,12347,WANG IS A DACA RECIPIENT
";

#[test]
fn csv_columns_are_classified_and_acted_on_whole() {
    let dir = TempDir::new("csv");
    let r = redactor("foia-general");
    let out = release_one(&r, dir.path(), "booking.csv", BOOKING.as_bytes()).unwrap();
    for secret in [
        "GARCIA",
        "JUAN",
        "03/15/1987",
        "512-44-9012",
        "2345 W Cermak Rd",
        "Mexico",
        "UNDOCUMENTED",
        "DACA RECIPIENT",
        "KOWALSKI",
        "WEI",
    ] {
        assert!(!out.contains(secret), "{secret} leaked:\n{out}");
    }
    // Released: non-personal columns, and the birth year.
    for kept in ["20010001", "RETAIL THEFT", "12345", "1987", "NO STATEMENT"] {
        assert!(out.contains(kept), "{kept} missing:\n{out}");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("out").join(SUMMARY_FILE)).unwrap())
            .unwrap();
    let columns = &summary["files"][0]["columns"];
    let role = |i: usize| {
        (
            columns[i]["role"].as_str().unwrap().to_string(),
            columns[i]["kind"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(role(1), ("entity".into(), "PERSON".into()));
    assert_eq!(role(3), ("entity".into(), "DATE_OF_BIRTH".into()));
    // No header hint: classified from the values.
    assert_eq!(role(4), ("entity".into(), "SSN".into()));
    assert_eq!(role(6), ("entity".into(), "PLACE_OF_BIRTH".into()));
    assert_eq!(role(7).0, "other");
    assert_eq!(role(9).0, "free_text");
}

#[test]
fn arrest_report_policy_keeps_2_15_fields() {
    let dir = TempDir::new("arrest");
    let r = redactor("arrest-report-2-15");
    let out = release_one(&r, dir.path(), "booking.csv", BOOKING.as_bytes()).unwrap();
    assert!(
        out.contains("GARCIA,JUAN") && out.contains("2345 W Cermak Rd"),
        "{out}"
    );
    assert!(
        !out.contains("512-44-9012") && !out.contains("Mexico") && !out.contains("UNDOCUMENTED"),
        "{out}"
    );
}

#[test]
fn log_cites_exemptions_and_never_holds_values() {
    let dir = TempDir::new("log");
    let r = redactor("foia-general");
    release_one(&r, dir.path(), "booking.csv", BOOKING.as_bytes()).unwrap();
    let log = fs::read_to_string(dir.path().join("out").join(LOG_FILE)).unwrap();
    let mut lines = log.lines();
    // The file's header line: its name, and per kind the exemption, action and counsel flag.
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["log_format"], 2, "{log}");
    assert_eq!(header["file"], "booking.csv");
    assert_eq!(header["format"], "csv");
    assert_eq!(header["policy"], "foia-general");
    let kinds = header["kinds"].as_object().unwrap();
    for (kind, rule) in kinds {
        let cite = rule["exemption"].as_str().unwrap();
        assert!(cite.starts_with("5 ILCS 140/7(1)("), "{kind}: {cite}");
        let action = rule["action"].as_str().unwrap();
        assert!(
            ["label", "mask", "pseudonym", "generalise", "drop-column"].contains(&action),
            "{kind}: {action}"
        );
    }
    assert_eq!(kinds["PLACE_OF_BIRTH"]["counsel_review"], true);
    assert_eq!(kinds["SSN"]["counsel_review"], false);
    assert_eq!(kinds["SSN"]["action"], "label");
    // Every redacted cell is accounted for: a line per cell, or one line for a run of rows of a
    // classified column (with its rows and count).
    let mut cells = 0;
    let mut runs = 0;
    for line in lines {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let kind = e["k"].as_str().unwrap();
        assert!(kinds.contains_key(kind), "{line}");
        assert!(e["col"].as_str().is_some(), "{line}");
        assert!(
            e["d"].as_str().is_some() && e["c"].as_str().is_some(),
            "{line}"
        );
        // As the header says: no rule repeated on the line.
        assert!(e.get("x").is_none() && e.get("a").is_none(), "{line}");
        if let Some(rows) = e.get("rows") {
            runs += 1;
            assert_eq!(rows, &serde_json::json!([1, 3]), "{line}");
            assert_eq!(e["s"], "whole_cell");
            cells += e["n"].as_u64().unwrap();
        } else {
            assert!(e["r"].as_u64().is_some(), "{line}");
            assert_eq!(e["s"].as_array().map(Vec::len), Some(2), "{line}");
            cells += 1;
        }
    }
    // Six classified columns (names, DOB, SSN, address, birthplace) over three rows, plus
    // what the notes column holds.
    assert_eq!(runs, 6, "{log}");
    assert!(cells >= 20, "{log}");
    for secret in [
        "GARCIA",
        "JUAN",
        "512-44-9012",
        "Cermak",
        "Mexico",
        "UNDOCUMENTED",
        "1987",
    ] {
        assert!(
            !log.to_uppercase().contains(&secret.to_uppercase()),
            "log holds {secret}"
        );
    }
}

#[test]
fn text_and_log_lines() {
    let dir = TempDir::new("text");
    let r = redactor("foia-general");
    let text =
        "Report\n\nWitness Maria Kowalski (cell 773-456-7890) said she is a DACA recipient.\n";
    let out = release_one(&r, dir.path(), "n.txt", text.as_bytes()).unwrap();
    assert_eq!(out, "Report\n\nWitness [REDACTED 7(1)(c)] (cell [REDACTED 7(1)(b)]) said she is a [REDACTED 7(1)(c)].\n");
    let log = fs::read_to_string(dir.path().join("out").join(LOG_FILE)).unwrap();
    // The header names the file; each redaction line its line.
    assert!(
        log.lines().next().unwrap().contains("\"file\":\"n.txt\""),
        "{log}"
    );
    assert!(
        log.lines().skip(1).all(|l| l.starts_with("{\"l\":3,")),
        "{log}"
    );
    assert_eq!(log.lines().count(), 4, "{log}");
}

#[test]
fn nested_json_and_jsonl() {
    let dir = TempDir::new("json");
    let r = redactor("foia-general");
    let jsonl = r#"{"id":1,"subject":{"name":"Juan Garcia","dob":"1987-03-15","contacts":[{"phone":"773-555-2368"}],"address":{"line1":"2345 W Cermak Rd"}},"notes":"Garcia overstayed his visa","count":3}

{"id":2,"subject":{"name":"Wei Zhang","a_number":201234567},"notes":"Zhang is a permanent resident"}
"#;
    let out = release_one(&r, dir.path(), "cases.jsonl", jsonl.as_bytes()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["subject"]["dob"], "1987");
    assert_eq!(first["subject"]["address"]["line1"], "[REDACTED 7(1)(b)]");
    assert_eq!(
        first["subject"]["contacts"][0]["phone"],
        "[REDACTED 7(1)(b)]"
    );
    assert_eq!(first["count"], 3);
    assert_eq!(first["notes"], "[REDACTED 7(1)(c)] [REDACTED 7(1)(c)]");
    let second: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(second["subject"]["a_number"], "[REDACTED 7(1)(b)]");
    assert!(!out.contains("Zhang") && !out.contains("Garcia"));

    let doc = r#"[{"name":"Ana Lopez","ssn":"512-44-9012"},{"name":"Piotr Nowak","note":"Nowak was born in Krakow, Poland"}]"#;
    let out = release_one(&r, dir.path(), "people.json", doc.as_bytes()).unwrap();
    assert!(
        !out.contains("Lopez")
            && !out.contains("512-44-9012")
            && !out.contains("Nowak")
            && !out.contains("Krakow"),
        "{out}"
    );
}

#[test]
fn pseudonyms_are_stable_across_files_of_a_release() {
    let dir = TempDir::new("pseudo");
    let policy = Policy::shipped("research-pseudonymous").unwrap();
    assert!(
        Redactor::new(policy.clone()).is_err(),
        "a pseudonym policy needs a key"
    );
    let r = Redactor::with_key(policy, Some(b"0123456789abcdef-city-held-key".to_vec())).unwrap();
    let a = release_one(
        &r,
        dir.path(),
        "a.csv",
        b"name,ssn\nJuan Garcia,512-44-9012\n",
    )
    .unwrap();
    let b = release_one(
        &r,
        dir.path(),
        "b.jsonl",
        b"{\"name\":\"Juan Garcia\",\"ssn\":\"512449012\"}\n",
    )
    .unwrap();
    let pseudo = a
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    assert!(pseudo.starts_with("PERSON-"), "{a}");
    assert!(b.contains(&pseudo), "{a} / {b}");
    let ssn = a
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_string();
    assert!(ssn.starts_with("SSN-") && b.contains(&ssn), "{a} / {b}");
}

#[test]
fn bad_input_is_a_clear_error_and_leaves_no_output() {
    let dir = TempDir::new("bad");
    let r = redactor("foia-general");
    let cases: &[(&str, &[u8], &str)] = &[
        ("short.csv", b"a,b,c\n1,2,3\n4,5\n", "line 3"),
        ("bad.jsonl", b"{\"a\":1}\n{\"a\":\n", "line 2"),
        ("bad.json", b"{\"a\": [1, 2,}", "line 1"),
        ("latin1.txt", b"ok line\nJos\xe9 Garc\xeda\n", "line 2"),
        ("latin1.csv", b"name\nJos\xe9\n", "UTF-8"),
        ("data.bin", b"\x00\x01", "unsupported file type"),
    ];
    for (name, bytes, expect) in cases {
        let err = release_one(&r, dir.path(), name, bytes).unwrap_err();
        assert!(err.contains(expect), "{name}: {err}");
        assert!(
            !err.contains("Garc") && !err.contains("Jos"),
            "error shows data: {err}"
        );
        assert!(
            !dir.path().join("out").join(name).exists(),
            "{name} output left behind"
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("out"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
}

#[test]
fn huge_line_is_refused_without_reading_it_all() {
    let dir = TempDir::new("huge");
    let r = redactor("foia-general");
    let mut big = vec![b'x'; citygate_redaction::formats::MAX_LINE_BYTES + 10];
    big.push(b'\n');
    let err = release_one(&r, dir.path(), "big.txt", &big).unwrap_err();
    assert!(err.contains("line 1 is longer than"), "{err}");
}

#[test]
fn review_list_must_stay_outside_the_release() {
    let dir = TempDir::new("review");
    let r = redactor("foia-general");
    let out = dir.path().join("out");
    let inside = out.join("review.jsonl");
    fs::create_dir_all(&out).unwrap();
    assert!(Release::create(&out, Some(&inside), &r).is_err());
    let outside = dir.path().join("review.jsonl");
    let input = dir.path().join("n.txt");
    fs::write(&input, "Near Garcia Street someone said 512449012.\n").unwrap();
    let mut release = Release::create(&out, Some(&outside), &r).unwrap();
    release.add(&r, &input, &|_| {}).unwrap();
    release.finish().unwrap();
    let review = fs::read_to_string(&outside).unwrap();
    assert!(
        review.contains("\"kind\":\"SSN\"") && review.contains("possible"),
        "{review}"
    );
}

#[test]
fn xlsx_round_trip() {
    use calamine::{Data, Reader};
    let dir = TempDir::new("xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Bookings").unwrap();
    for (c, h) in ["last_name", "first_name", "ssn", "charge", "count", "notes"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let rows = [
        (
            "GARCIA",
            "JUAN",
            "512-44-9012",
            "THEFT",
            2.0,
            "GARCIA IS UNDOCUMENTED",
        ),
        ("NOWAK", "PIOTR", "423-11-7788", "TRESPASS", 1.0, "NONE"),
    ];
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, row.0).unwrap();
        sheet.write_string(r, 1, row.1).unwrap();
        sheet.write_string(r, 2, row.2).unwrap();
        sheet.write_string(r, 3, row.3).unwrap();
        sheet.write_number(r, 4, row.4).unwrap();
        sheet.write_string(r, 5, row.5).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let r = redactor("foia-general");
    release_one(&r, dir.path(), "book.xlsx", &bytes).unwrap_or_else(|e| panic!("{e}"));
    let mut out: calamine::Xlsx<_> =
        calamine::open_workbook(dir.path().join("out").join("book.xlsx")).unwrap();
    let range = out.worksheet_range("Bookings").unwrap();
    let cells: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    assert_eq!(cells[1][0], Data::String("[REDACTED 7(1)(c)]".into()));
    assert_eq!(cells[1][2], Data::String("[REDACTED 7(1)(b)]".into()));
    assert_eq!(cells[1][3], Data::String("THEFT".into()));
    assert_eq!(cells[1][4], Data::Float(2.0));
    assert_eq!(
        cells[1][5],
        Data::String("[REDACTED 7(1)(c)] IS [REDACTED 7(1)(c)]".into())
    );
    let log = fs::read_to_string(dir.path().join("out").join(LOG_FILE)).unwrap();
    assert!(
        log.contains("\"sh\":\"Bookings\"") && log.contains("\"cell\":\"C2\""),
        "{log}"
    );
}

#[test]
fn xlsx_zip_bomb_is_refused() {
    use std::io::Write;
    let dir = TempDir::new("bomb");
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
        zip.write_all(&vec![b'0'; 4 * 1024 * 1024]).unwrap();
        zip.finish().unwrap();
    }
    let r = redactor("foia-general");
    let err = release_one(&r, dir.path(), "bomb.xlsx", buf.get_ref()).unwrap_err();
    assert!(err.contains("zip bomb"), "{err}");
    let err = release_one(&r, dir.path(), "notzip.xlsx", b"PK not really").unwrap_err();
    assert!(err.contains("not an XLSX"), "{err}");
}

#[test]
fn eml_with_text_attachment() {
    let dir = TempDir::new("eml");
    let r = redactor("foia-general");
    let eml = "From: Maria Kowalski <mkowalski@gmail.com>\r\nTo: foia@cityofchicago.org\r\nSubject: CityKey for Maria\r\nDate: Mon, 2 Nov 2026 10:00:00 -0600\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, Kowalski here. My phone is 773-456-7890 and I am a DACA recipient.\r\n--XX\r\nContent-Type: text/plain; name=\"note.txt\"\r\nContent-Disposition: attachment; filename=\"note.txt\"\r\n\r\nSSN 512-44-9012, Maria\r\n--XX\r\nContent-Type: image/jpeg; name=\"id.jpg\"\r\nContent-Disposition: attachment; filename=\"id.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n--XX--\r\n";
    let out = release_one(&r, dir.path(), "msg.eml", eml.as_bytes()).unwrap();
    for secret in [
        "Kowalski",
        "mkowalski",
        "773-456-7890",
        "DACA",
        "512-44-9012",
        "Maria",
    ] {
        assert!(!out.contains(secret), "{secret} leaked:\n{out}");
    }
    assert!(out.contains("foia@cityofchicago.org"), "{out}");
    assert!(
        out.contains("attachment: note.txt (text, redacted)") && out.contains("id.jpg withheld"),
        "{out}"
    );
}

#[test]
fn pdf_text_layer_with_page_markers() {
    let dir = TempDir::new("pdf");
    let r = redactor("foia-general");
    let pdf = tiny_pdf(&[
        "Arrestee Maria Kowalski SSN 512-44-9012",
        "Kowalski is undocumented",
    ]);
    let input = dir.path().join("in");
    fs::create_dir_all(&input).unwrap();
    fs::write(input.join("report.pdf"), &pdf).unwrap();
    let out = dir.path().join("out");
    let mut release = Release::create(&out, None, &r).unwrap();
    release.add(&r, &input.join("report.pdf"), &|_| {}).unwrap();
    release.finish().unwrap();
    let text = fs::read_to_string(out.join("report.pdf.txt")).unwrap();
    assert!(
        text.contains("===== page 1 =====") && text.contains("===== page 2 ====="),
        "{text}"
    );
    for secret in ["Kowalski", "Maria", "512-44-9012", "undocumented"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(!out.join("report.pdf").exists());
    let err = release_one(&r, dir.path(), "broken.pdf", b"%PDF-1.4 garbage").unwrap_err();
    assert!(err.contains("PDF"), "{err}");
}

#[test]
fn abandoned_release_leaves_no_temporary_files_and_no_summary() {
    let dir = TempDir::new("abandon");
    let r = redactor("foia-general");
    let out = dir.path().join("out");
    release_one(&r, dir.path(), "a.txt", b"SSN 512-44-9012\n").unwrap();
    assert!(out.join(SUMMARY_FILE).exists());
    {
        let mut release =
            Release::create(&out, Some(&dir.path().join("review.jsonl")), &r).unwrap();
        let input = dir.path().join("in").join("a.txt");
        release.add(&r, &input, &|_| {}).unwrap();
        // Dropped without finish(): interrupted.
    }
    let names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
    assert!(
        !out.join(SUMMARY_FILE).exists(),
        "an interrupted release must not look complete: {names:?}"
    );
    assert!(!dir.path().join("review.jsonl").exists());
}

#[test]
fn drop_column_removes_the_column_and_logs_its_cells() {
    let dir = TempDir::new("drop");
    let toml = r#"
[policy]
id = "drop-test"
title = "t"
statute = "5 ILCS 140"
[[entity]]
kind = "PLACE_OF_BIRTH"
action = "drop-column"
exemption = "7(1)(c)"
counsel = true
[[entity]]
kind = "PERSON"
action = "keep"
"#;
    let r = Redactor::new(Policy::from_toml("drop.toml", toml).unwrap()).unwrap();
    let out = release_one(
        &r,
        dir.path(),
        "t.csv",
        b"name,country_of_birth,charge\nAna Lopez,Mexico,THEFT\n",
    )
    .unwrap();
    assert_eq!(out, "name,charge\nAna Lopez,THEFT\n");
    let log = fs::read_to_string(dir.path().join("out").join(LOG_FILE)).unwrap();
    // The header states the rule; the cell's line names the column.
    assert!(
        log.contains("\"PLACE_OF_BIRTH\":{\"exemption\":\"5 ILCS 140/7(1)(c)\",\"action\":\"drop-column\",\"counsel_review\":true}")
            && log.contains("\"col\":\"country_of_birth\"")
            && !log.contains("Mexico"),
        "{log}"
    );
    // In free text the same rule falls back to a label.
    let text = release_one(&r, dir.path(), "n.txt", b"She was born in Mexico.\n").unwrap();
    assert_eq!(text, "She was born in [REDACTED 7(1)(c)].\n");
}

/// The review loop: a release lists its uncertain candidates; the records officer marks each
/// `redact` or `keep`; the next run of the release with those decisions redacts the first
/// (logged as `review.accepted`, under the kind's exemption), releases the second, and lists
/// neither again. An undecided candidate stays in the list, and a decision reaches the same
/// value wherever it is a candidate.
#[test]
fn review_decisions_are_applied_on_the_next_run() {
    use citygate_redaction::review::Decisions;
    let dir = TempDir::new("decisions");
    let input = dir.path().join("in");
    fs::create_dir_all(&input).unwrap();
    let notes = input.join("notes.txt");
    fs::write(
        &notes,
        "Someone said 512449012 at the desk.\nA second caller said 512449012 too.\nThe form reads 423117788 in the margin.\nThe box said 301224455 as well.\n",
    )
    .unwrap();
    let run = |r: &Redactor, name: &str| {
        let out = dir.path().join(name);
        let review = dir.path().join(format!("{name}-review.jsonl"));
        let mut release = Release::create(&out, Some(&review), r).unwrap();
        release.add(r, &notes, &|_| {}).unwrap();
        release.finish().unwrap();
        (
            fs::read_to_string(out.join("notes.txt")).unwrap(),
            fs::read_to_string(out.join(LOG_FILE)).unwrap(),
            fs::read_to_string(review).unwrap(),
        )
    };
    let r = redactor("foia-general");
    let (first, _, review) = run(&r, "first");
    assert!(
        first.contains("512449012") && first.contains("423117788"),
        "{first}"
    );
    let candidates: Vec<serde_json::Value> = review
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(candidates.len(), 4, "{review}");
    // The officer redacts the first value (listed twice), keeps the second, leaves the third.
    let decided: String = candidates
        .iter()
        .map(|c| {
            let mut c = c.clone();
            match c["candidate"].as_str().unwrap() {
                "512449012" => c["decision"] = "redact".into(),
                "423117788" => c["decision"] = "keep".into(),
                _ => {}
            }
            format!("{c}\n")
        })
        .collect();
    let decisions = Decisions::read(decided.as_bytes()).unwrap();
    assert_eq!(decisions.len(), 2);
    let r = redactor("foia-general").with_decisions(decisions);
    let (second, log, review) = run(&r, "second");
    assert!(!second.contains("512449012"), "{second}");
    assert_eq!(second.matches("[REDACTED 7(1)(b)]").count(), 2, "{second}");
    assert!(
        second.contains("423117788") && second.contains("301224455"),
        "{second}"
    );
    assert_eq!(log.matches("\"d\":\"review.accepted\"").count(), 2, "{log}");
    assert!(!log.contains("512449012"), "{log}");
    let open: Vec<&str> = review.lines().collect();
    assert_eq!(open.len(), 1, "{review}");
    assert!(open[0].contains("301224455"), "{review}");
    // The summary says what the officer decided; the first run's says nothing of decisions.
    let summary = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&fs::read(dir.path().join(name).join(SUMMARY_FILE)).unwrap())
            .unwrap()
    };
    assert_eq!(
        summary("second")["decisions"],
        serde_json::json!({"redact": 1, "keep": 1})
    );
    assert!(summary("first").get("decisions").is_none());
}
