//! No input makes a release panic or leave a partial output. A valid sample of every format is
//! mutated at random (seeded, so a failure can be replayed) and each mutant goes through
//! `Release::add`: it either succeeds, with its output in place, or fails with an error that
//! shows none of the sample's values, leaving nothing of it in the folder. XLSX mutants are made
//! twice: by changing the archive's bytes, and by changing a part's XML and zipping it again
//! (which reaches the workbook reader; a changed archive mostly stops at the zip layer).

use std::fs;
use std::io::{Cursor, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use citygate_redaction::release::{output_name, Format, Release};
use citygate_redaction::{Policy, Redactor};

mod common;

/// Mutants per sample.
const MUTANTS: usize = 60;

/// Values of the samples that no error message may show.
const SECRETS: &[&str] = &[
    "GARCIA",
    "Garcia",
    "KOWALSKI",
    "Kowalski",
    "512-44-9012",
    "423-11-7788",
    "773-456-7890",
    "mkowalski",
    "2345 W Cermak",
    "A123456789",
];

const CSV: &str = "booking_no,LNAME,FNAME,D.O.B.,ssn,home_address,POB,charge,notes
20010001,GARCIA,JUAN,03/15/1987,512-44-9012,2345 W Cermak Rd,Mexico,RETAIL THEFT,\"GARCIA STATED HE IS UNDOCUMENTED, A123456789\"
20010002,KOWALSKI,MARIA,1990-07-04,423-11-7788,10 N State St,Poland,TRESPASS,NO STATEMENT
";

const JSONL: &str = r#"{"case_id":"2026-CR-1","narrative":"Garcia said he is undocumented.\nCall 773-456-7890.","subject":{"name":"Juan Garcia","ssn":"512-44-9012","contacts":[{"email":"mkowalski@gmail.com"}],"a_number":"A123456789"}}
{"case_id":"2026-CR-2","subject":{"name":"Maria Kowalski","dob":"1990-07-04","address":{"line1":"2345 W Cermak Rd"}},"count":3,"flag":true,"none":null}
"#;

const TEXT: &str = "ARREST REPORT  RD# JH956127\nARRESTEE: GARCIA, JUAN  DOB: March 15, 1987  SSN: 512-44-9012\nADDRESS: 2345 W Cermak Rd  PHONE: 773-456-7890\nGarcia told the officer he is a DACA recipient; A-number A123456789.\n";

const EML: &str = "From: Maria Kowalski <mkowalski@gmail.com>\r\nTo: foia@cityofchicago.org\r\nSubject: CityKey\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKowalski here, phone 773-456-7890, DACA recipient.\r\n--XX\r\nContent-Type: text/plain; name=\"note.txt\"\r\nContent-Disposition: attachment; filename=\"note.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\nU1NOIDUxMi00NC05MDEyLCBNYXJpYQ==\r\n--XX--\r\n";

/// A small deterministic generator (xorshift64*), so a failing mutant can be made again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that mean something to one of the parsers.
const SPECIAL: &[u8] = b"\0\"',{}[]:\\\n\r\t<>&/;=#%\xff\xc3\xe2\x80";

/// One to four random edits: a byte changed, set to a special byte, bytes deleted,
/// duplicated or inserted, or the end cut off.
fn mutate(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len());
        match rng.below(6) {
            0 if !v.is_empty() => v[at] ^= 1 << rng.below(8),
            1 if !v.is_empty() => v[at] = SPECIAL[rng.below(SPECIAL.len())],
            2 => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                v.drain(at..end);
            }
            3 => {
                let end = (at + 1 + rng.below(64)).min(v.len());
                let copy = v[at..end].to_vec();
                let to = rng.below(v.len());
                v.splice(to..to, copy);
            }
            4 => {
                let extra: Vec<u8> = (0..1 + rng.below(8))
                    .map(|_| match rng.below(2) {
                        0 => SPECIAL[rng.below(SPECIAL.len())],
                        _ => rng.next() as u8,
                    })
                    .collect();
                v.splice(at..at, extra);
            }
            _ => v.truncate(at),
        }
    }
    v
}

fn xlsx_sample() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Bookings").unwrap();
    let rows = [
        ["last_name", "first_name", "ssn", "charge", "notes"],
        [
            "GARCIA",
            "JUAN",
            "512-44-9012",
            "THEFT",
            "GARCIA IS UNDOCUMENTED",
        ],
        ["KOWALSKI", "MARIA", "423-11-7788", "TRESPASS", "NONE"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    sheet.write_number(1, 5, 2.5).unwrap();
    sheet.write_boolean(2, 5, true).unwrap();
    book.save_to_buffer().unwrap()
}

/// The archive's parts, in order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().to_string(), data)
        })
        .collect()
}

fn rezip(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in parts {
            zip.start_file(name.as_str(), opts).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
    }
    buf.into_inner()
}

/// XLSX mutants with one XML part (a sheet, the shared strings, the workbook or the styles)
/// changed, zipped again.
fn xlsx_part_mutants(sample: &[u8], rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    let parts = unzip(sample);
    let targets: Vec<usize> = parts
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| {
            name.contains("worksheets/")
                || name.ends_with("sharedStrings.xml")
                || name.ends_with("workbook.xml")
                || name.ends_with("styles.xml")
        })
        .map(|(i, _)| i)
        .collect();
    assert!(
        targets.len() >= 4,
        "parts: {:?}",
        parts.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    (0..n)
        .map(|_| {
            let mut parts = parts.clone();
            let t = targets[rng.below(targets.len())];
            parts[t].1 = mutate(&parts[t].1, rng);
            rezip(&parts)
        })
        .collect()
}

struct Outcome {
    ok: usize,
    failed: usize,
}

/// Releases each mutant as `name` in a folder of its own; fails the test on a panic, a
/// success without output, a failure with output or temporary files left, or an error that
/// shows a sample value.
fn release_all(r: &Redactor, root: &Path, name: &str, mutants: &[Vec<u8>]) -> Outcome {
    let format = Format::of(Path::new(name)).unwrap();
    let mut outcome = Outcome { ok: 0, failed: 0 };
    for (i, bytes) in mutants.iter().enumerate() {
        let dir = root.join(format!("{name}-{i}"));
        let input = dir.join("in");
        fs::create_dir_all(&input).unwrap();
        let file = input.join(name);
        fs::write(&file, bytes).unwrap();
        let out = dir.join("out");
        let mut release = Release::create(&out, None, r).unwrap();
        let added = catch_unwind(AssertUnwindSafe(|| {
            release
                .add(r, &file, &|_| {})
                .map(|_| ())
                .map_err(|e| e.to_string())
        }));
        let Ok(added) = added else {
            panic!(
                "{name} mutant {i} panicked (input kept in {})",
                file.display()
            );
        };
        release.finish().unwrap();
        let output = out.join(output_name(name, format));
        match added {
            Ok(()) => {
                assert!(output.exists(), "{name} mutant {i}: success without output");
                outcome.ok += 1;
            }
            Err(e) => {
                assert!(
                    !output.exists(),
                    "{name} mutant {i}: failed but left {output:?}"
                );
                for secret in SECRETS {
                    assert!(
                        !e.contains(secret),
                        "{name} mutant {i}: error shows a value: {e}"
                    );
                }
                outcome.failed += 1;
            }
        }
        let partial: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("partial"))
            .collect();
        assert!(
            partial.is_empty(),
            "{name} mutant {i}: temporary files left: {partial:?}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
    outcome
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn mutated_inputs_never_panic_nor_leave_partial_output() {
    let root = TempDir(std::env::temp_dir().join(format!(
        "citygate-redaction-robustness-{}",
        std::process::id()
    )));
    let r = Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap();
    let json = format!("[{}]", JSONL.lines().collect::<Vec<_>>().join(","));
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("report.txt", TEXT.as_bytes().to_vec()),
        ("bookings.csv", CSV.as_bytes().to_vec()),
        ("bookings.tsv", CSV.replace(',', "\t").into_bytes()),
        ("cases.jsonl", JSONL.as_bytes().to_vec()),
        ("cases.json", json.into_bytes()),
        ("message.eml", EML.as_bytes().to_vec()),
        ("book.xlsx", xlsx_sample()),
        (
            "report.pdf",
            common::tiny_pdf(&[
                "ARRESTEE GARCIA, JUAN SSN 512-44-9012",
                "Garcia is undocumented; phone 773-456-7890",
            ]),
        ),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (name, sample) in &samples {
        // The sample itself must go through, or the mutants test nothing but the first error.
        let whole = release_all(&r, &root.0, name, std::slice::from_ref(sample));
        assert_eq!(whole.ok, 1, "{name}: the unmutated sample fails");
        let mutants: Vec<Vec<u8>> = (0..MUTANTS).map(|_| mutate(sample, &mut rng)).collect();
        let outcome = release_all(&r, &root.0, name, &mutants);
        eprintln!(
            "{name}: {} released, {} refused",
            outcome.ok, outcome.failed
        );
    }
    let xlsx = xlsx_sample();
    let mutants = xlsx_part_mutants(&xlsx, &mut rng, MUTANTS);
    let outcome = release_all(&r, &root.0, "parts.xlsx", &mutants);
    eprintln!(
        "parts.xlsx: {} released, {} refused",
        outcome.ok, outcome.failed
    );
    // Changed XML must reach the reader: some mutants still read, some are refused by it.
    assert!(
        outcome.ok > 0 && outcome.failed > 0,
        "xlsx parts: {} / {}",
        outcome.ok,
        outcome.failed
    );
}
