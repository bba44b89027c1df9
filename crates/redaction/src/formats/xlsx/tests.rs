//! The streaming reader and writer against the implementation they replaced (kept below as
//! `reference`, verbatim but for its imports: it loaded each sheet with `worksheet_range` and
//! built the whole output in memory): same cells and types in the output, same log and review
//! lines, same report, on workbooks with several sheets, offsets, gaps and more rows than the
//! sample and a batch; and errors, not panics, on malformed sheets.

use std::io::{Cursor, Read, Write};

use calamine::{Data, Range, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook};

use crate::formats::{FormatError, MemorySink};
use crate::policy::Policy;
use crate::redactor::Redactor;

/// The implementation before streaming (git history: `formats/xlsx.rs` before this module).
mod reference {
    use std::io::{Read, Seek, Write};

    use calamine::{Data, Reader, Xlsx};
    use rayon::prelude::*;

    use super::super::{bad, check_archive, column_name, short};
    use crate::columns::{classify_column, hint_for, ColumnRole};
    use crate::formats::table::SAMPLE_ROWS;
    use crate::formats::{report_field, FileReport, FormatError, Sink};
    use crate::log::Location;
    use crate::policy::Action;
    use crate::redactor::{FieldRole, Redactor};

    fn cell_text(d: &Data) -> String {
        match d {
            Data::Empty => String::new(),
            Data::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    pub fn redact<R: Read + Seek, W: Write + Seek + Send>(
        redactor: &Redactor,
        mut input: R,
        output: W,
        file: &str,
        sink: &mut dyn Sink,
    ) -> Result<FileReport, FormatError> {
        check_archive(&mut input, file)?;
        input.rewind().map_err(|e| FormatError::io(file, e))?;
        let mut book: Xlsx<_> = Xlsx::new(input).map_err(|e| {
            bad(
                file,
                format!("unreadable XLSX workbook: {}", short(&e.to_string())),
            )
        })?;
        let mut report = FileReport {
            file: file.to_string(),
            format: "xlsx".into(),
            ..Default::default()
        };
        let mut workbook = rust_xlsxwriter::Workbook::new();
        for sheet in book.sheet_names() {
            let range = book
                .worksheet_range(&sheet)
                .map_err(|e| bad(file, format!("sheet {sheet:?}: {}", short(&e.to_string()))))?;
            let rows: Vec<&[Data]> = range.rows().collect();
            let (start_row, start_col) = range.start().unwrap_or((0, 0));
            let worksheet = workbook.add_worksheet();
            worksheet
                .set_name(&sheet)
                .map_err(|e| bad(file, format!("sheet name: {e}")))?;
            let Some((header, body)) = rows.split_first() else {
                continue;
            };
            let headers: Vec<String> = header.iter().map(cell_text).collect();
            let texts: Vec<Vec<String>> = body
                .iter()
                .map(|r| r.iter().map(cell_text).collect())
                .collect();
            let mut columns = Vec::new();
            for (i, h) in headers.iter().enumerate() {
                let sample: Vec<&str> = texts
                    .iter()
                    .take(SAMPLE_ROWS)
                    .filter_map(|r| r.get(i).map(String::as_str))
                    .collect();
                let mut class = classify_column(redactor.chain(), h, &sample);
                class.name = format!("{sheet}!{h}");
                columns.push(class);
            }
            let roles: Vec<FieldRole> = columns
                .iter()
                .map(|c| match c.role {
                    ColumnRole::Entity(k) => FieldRole::Whole(k),
                    other => FieldRole::Scan(hint_for(other)),
                })
                .collect();
            let keep: Vec<bool> = columns.iter().map(|c| !matches!(c.role, ColumnRole::Entity(k) if redactor.policy().rule(k).action == Action::DropColumn)).collect();
            let redacted: Vec<_> = texts
                .par_iter()
                .map(|row| {
                    let fields: Vec<(&str, FieldRole)> = row
                        .iter()
                        .zip(&roles)
                        .map(|(v, r)| (v.as_str(), *r))
                        .collect();
                    redactor.redact_record(&fields)
                })
                .collect();
            let mut out_col = 0u16;
            for (c, h) in headers.iter().enumerate() {
                if keep.get(c).copied().unwrap_or(true) {
                    worksheet
                        .write_string(0, out_col, h)
                        .map_err(|e| bad(file, e.to_string()))?;
                    out_col = out_col.saturating_add(1);
                }
            }
            for (r, ((row, original), fields)) in body.iter().zip(&texts).zip(&redacted).enumerate()
            {
                let mut out_col = 0u16;
                let out_row = u32::try_from(r + 1).unwrap_or(u32::MAX);
                for (c, ((cell, text), field)) in row.iter().zip(original).zip(fields).enumerate() {
                    let reference = format!(
                        "{}{}",
                        column_name(start_col as usize + c),
                        start_row as usize + r + 2
                    );
                    let location = |_pos: usize| Location::Sheet {
                        sheet: &sheet,
                        cell: &reference,
                    };
                    report_field(redactor, file, text, field, &location, sink, &mut report)?;
                    if !keep.get(c).copied().unwrap_or(true) {
                        continue;
                    }
                    let written = if !field.applied.is_empty() {
                        worksheet
                            .write_string(out_row, out_col, field.text.as_ref())
                            .map(|_| ())
                    } else {
                        match cell {
                            Data::Empty => Ok(()),
                            Data::Int(i) => worksheet
                                .write_number(out_row, out_col, *i as f64)
                                .map(|_| ()),
                            Data::Float(f) => {
                                worksheet.write_number(out_row, out_col, *f).map(|_| ())
                            }
                            Data::Bool(b) => {
                                worksheet.write_boolean(out_row, out_col, *b).map(|_| ())
                            }
                            _ => worksheet.write_string(out_row, out_col, text).map(|_| ()),
                        }
                    };
                    written.map_err(|e| bad(file, e.to_string()))?;
                    out_col = out_col.saturating_add(1);
                }
                report.records += 1;
            }
            report.columns.extend(columns);
        }
        workbook
            .save_to_writer(output)
            .map_err(|e| bad(file, format!("writing the workbook: {e}")))?;
        Ok(report)
    }
}

const LAST: &[&str] = &[
    "GARCIA",
    "KOWALSKI",
    "NGUYEN",
    "OKAFOR",
    "HERNANDEZ",
    "WANG",
    "MURPHY",
    "PATEL",
];
const FIRST: &[&str] = &[
    "JUAN", "MARIA", "WEI", "CHIDI", "ROSA", "ANNA", "LIAM", "PRIYA",
];
const COUNTRIES: &[&str] = &["Mexico", "Poland", "China", "Nigeria", "Ireland", "India"];

fn ssn(i: usize) -> String {
    format!(
        "{:03}-{:02}-{:04}",
        101 + i % 500,
        10 + i % 89,
        1000 + (i * 7) % 9000
    )
}

fn note(i: usize) -> String {
    let (last, first) = (LAST[i % LAST.len()], FIRST[(i / 3) % FIRST.len()]);
    match i % 9 {
        0 => format!("{last} STATED HE IS UNDOCUMENTED"),
        1 => format!("Mr. {first} {last} called 312-555-{:04} twice", i % 10_000),
        2 => format!("  SSN {} on file  ", ssn(i + 3)),
        3 => "NO STATEMENT".to_string(),
        4 => format!("line one\nmail {}@gmail.com", first.to_lowercase()),
        5 => "literal _x0041_ kept".to_string(),
        6 => String::new(),
        7 => format!("born in {}", COUNTRIES[i % COUNTRIES.len()]),
        _ => format!("{first} is a DACA recipient"),
    }
}

/// A workbook with: a sheet whose header starts at B3, more rows than the sample and than a
/// batch, empty rows, sparse rows, a cell left of the header and one right of it, numbers,
/// booleans, dates, empty strings; a second large sheet at A1; an empty sheet, a small one and
/// a header-only one (written in memory).
fn workbook() -> Vec<u8> {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let s = book.add_worksheet();
    s.set_name("Bookings").unwrap();
    let headers = [
        "booking_no",
        "last_name",
        "first_name",
        "ssn",
        "dob",
        "country_of_birth",
        "charge",
        "count",
        "in_custody",
        "booked_on",
        "notes",
    ];
    for (c, h) in headers.iter().enumerate() {
        s.write_string(2, c as u16 + 1, *h).unwrap();
    }
    for i in 0..700usize {
        let r = 3 + i as u32;
        if i % 50 == 7 {
            continue; // an empty row
        }
        let sparse = i % 13 == 5;
        s.write_number(r, 1, 20_010_000.0 + i as f64).unwrap();
        s.write_string(r, 2, LAST[i % LAST.len()]).unwrap();
        if !sparse {
            s.write_string(r, 3, FIRST[(i / 3) % FIRST.len()]).unwrap();
            s.write_string(r, 4, ssn(i)).unwrap();
        }
        s.write_string(
            r,
            5,
            format!("{:02}/{:02}/19{:02}", 1 + i % 12, 1 + i % 28, 50 + i % 40),
        )
        .unwrap();
        s.write_string(r, 6, COUNTRIES[i % COUNTRIES.len()])
            .unwrap();
        s.write_string(r, 7, ["THEFT", "TRESPASS", "BATTERY"][i % 3])
            .unwrap();
        if !sparse {
            s.write_number(r, 8, (i % 4) as f64 + 0.5 * (i % 2) as f64)
                .unwrap();
        }
        s.write_boolean(r, 9, i % 3 == 0).unwrap();
        s.write_number_with_format(r, 10, 40_000.0 + i as f64, &date)
            .unwrap();
        s.write_string(r, 11, note(i)).unwrap();
    }
    s.write_string(103, 0, "left of the header").unwrap();
    s.write_string(303, 13, "Call GARCIA at 773-456-7890")
        .unwrap();

    let s = book.add_worksheet();
    s.set_name("Officers").unwrap();
    for (c, h) in ["badge", "officer_name", "email", "phone", "remarks"]
        .iter()
        .enumerate()
    {
        s.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..650usize {
        let r = 1 + i as u32;
        s.write_number(r, 0, 1000.0 + i as f64).unwrap();
        s.write_string(
            r,
            1,
            format!("{} {}", FIRST[i % FIRST.len()], LAST[(i / 2) % LAST.len()]),
        )
        .unwrap();
        if i % 4 != 0 {
            s.write_string(r, 2, format!("officer{i}@example.com"))
                .unwrap();
        }
        s.write_string(r, 3, format!("(312) 555-{:04}", 1000 + i))
            .unwrap();
        s.write_string(r, 4, note(i + 1)).unwrap();
    }

    book.add_worksheet().set_name("Empty").unwrap();
    let s = book.add_worksheet();
    s.set_name("Small").unwrap();
    s.write_string(1, 1, "name").unwrap();
    s.write_string(1, 2, "amount").unwrap();
    s.write_string(2, 1, "GARCIA, JUAN").unwrap();
    s.write_number(2, 2, 12.5).unwrap();
    s.write_string(4, 2, "SSN 512-44-9012").unwrap();
    let s = book.add_worksheet();
    s.set_name("HeaderOnly").unwrap();
    s.write_string(0, 0, "ssn").unwrap();
    s.write_string(0, 1, "notes").unwrap();
    book.save_to_buffer().unwrap()
}

struct Run {
    sheets: Vec<(String, Range<Data>)>,
    log: String,
    review: String,
    report: String,
}

fn read_back(bytes: Vec<u8>) -> Vec<(String, Range<Data>)> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    book.worksheets()
}

/// Which implementation a run uses.
#[derive(Clone, Copy)]
enum Implementation {
    Streaming,
    Reference,
    /// Streaming, the shared strings first put inline whatever the table's size.
    Inlined,
}

fn run(redactor: &Redactor, input: &[u8], with: Implementation) -> Result<Run, FormatError> {
    let mut out = Vec::new();
    let mut sink = MemorySink::default();
    let (input, output, file) = (Cursor::new(input), Cursor::new(&mut out), "book.xlsx");
    let report = match with {
        Implementation::Streaming => super::redact(redactor, input, output, file, &mut sink),
        Implementation::Reference => reference::redact(redactor, input, output, file, &mut sink),
        Implementation::Inlined => {
            super::redact_inlining_above(redactor, input, output, file, &mut sink, 0)
        }
    }?;
    Ok(Run {
        sheets: read_back(out),
        log: String::from_utf8(sink.log).unwrap(),
        review: String::from_utf8(sink.review).unwrap(),
        report: serde_json::to_string(&report).unwrap(),
    })
}

/// Asserts that the streaming code and the reference give the same release, and returns it.
fn same_as_reference(redactor: &Redactor, input: &[u8]) -> Run {
    let want = run(redactor, input, Implementation::Reference)
        .unwrap_or_else(|e| panic!("reference: {e}"));
    let got = run(redactor, input, Implementation::Streaming)
        .unwrap_or_else(|e| panic!("streaming: {e}"));
    same_release(&got, &want);
    got
}

fn with_drop_column() -> Redactor {
    let source = include_str!("../../../../../policies/foia-general.toml");
    let ssn = "kind = \"SSN\"\naction = \"label\"";
    assert!(source.contains(ssn));
    let source = source.replace(ssn, "kind = \"SSN\"\naction = \"drop-column\"");
    Redactor::new(Policy::from_toml("drop.toml", &source).unwrap()).unwrap()
}

#[test]
fn streaming_matches_the_loaded_implementation() {
    let input = workbook();
    let general = Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap();
    let got = same_as_reference(&general, &input);
    // Independently of the reference: what this workbook must give.
    let report: serde_json::Value = serde_json::from_str(&got.report).unwrap();
    // 700 + 650 + 3 (Small: rows 3 to 5, 4 empty) body rows; the header-only sheet has none.
    assert_eq!(report["records"], 700 + 650 + 3, "{report}");
    let (_, bookings) = &got.sheets[0];
    assert_eq!(bookings.start(), Some((0, 0)), "written from A1");
    // Row 1 of the output is the header (the sheet's row 3); the extent starts at column A
    // (a cell left of the header), so the header's first name is in column B.
    assert_eq!(
        bookings.get((0, 1)),
        Some(&Data::String("booking_no".into()))
    );
    assert_eq!(bookings.get((1, 1)), Some(&Data::Float(20_010_000.0)));
    assert_eq!(bookings.get((1, 9)), Some(&Data::Bool(true)));
    assert!(
        matches!(bookings.get((1, 2)), Some(Data::String(s)) if s.starts_with("[REDACTED")),
        "{:?}",
        bookings.get((1, 2))
    );
    // A cell's reference is its place in the input: the first body row is row 4, the SSN
    // column E.
    assert!(
        got.log.contains("\"sh\":\"Bookings\",\"cell\":\"E4\""),
        "{}",
        &got.log[..2000.min(got.log.len())]
    );
    assert!(
        got.log.contains("\"cell\":\"N304\""),
        "the cell right of the header is scanned"
    );
    assert!(got.log.contains("\"sh\":\"Officers\",\"cell\":\"B2\""));
    assert!(got.log.contains("\"sh\":\"Small\",\"cell\":\"C5\""));
    for secret in ["GARCIA", "512-44-9012", "UNDOCUMENTED"] {
        assert!(!got.log.contains(secret));
    }

    let dropping = with_drop_column();
    let got = same_as_reference(&dropping, &input);
    let (_, bookings) = &got.sheets[0];
    let header: Vec<&Data> = bookings.rows().next().unwrap().iter().collect();
    assert!(!header.contains(&&Data::String("ssn".into())), "{header:?}");
    assert!(header.contains(&&Data::String("dob".into())), "{header:?}");

    let pseudonyms = Redactor::with_key(
        Policy::shipped("research-pseudonymous").unwrap(),
        Some(b"a test key of 32 bytes, not real".to_vec()),
    )
    .unwrap();
    same_as_reference(&pseudonyms, &input);
}

/// Rewrites one part of a zip archive.
fn replace_part(zip_bytes: &[u8], part: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().to_string();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        if name == part {
            content = edit(String::from_utf8(content).unwrap()).into_bytes();
        }
        out.start_file(name, opts).unwrap();
        out.write_all(&content).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// Cells out of row-major order (which some writers produce) give the same release as before.
#[test]
fn cells_out_of_order_are_placed_as_before() {
    let input = workbook();
    // Officers is sheet2.xml; its rows 2 and 3 swapped.
    let swapped = replace_part(&input, "xl/worksheets/sheet2.xml", |xml| {
        let (a, b) = (
            xml.find("<row r=\"2\"").unwrap(),
            xml.find("<row r=\"3\"").unwrap(),
        );
        let c = xml.find("<row r=\"4\"").unwrap();
        format!("{}{}{}{}", &xml[..a], &xml[b..c], &xml[a..b], &xml[c..])
    });
    assert_ne!(swapped, input);
    let general = Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap();
    same_as_reference(&general, &swapped);
}

/// A sheet that goes bad after many good rows is an error naming the file, the sheet and the
/// row, not a panic and not a partial workbook.
#[test]
fn malformed_sheet_mid_stream_is_an_error() {
    let input = workbook();
    let general = Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap();
    // A cell type that does not exist, at row 500 of Officers.
    let bad_type = replace_part(&input, "xl/worksheets/sheet2.xml", |xml| {
        let at = xml.find("<c r=\"B500\"").unwrap();
        let end = at + xml[at..].find('>').unwrap();
        let cell = xml[at..end].replace("t=\"s\"", "t=\"zz\"");
        format!("{}{}{}", &xml[..at], cell, &xml[end..])
    });
    let err = run(&general, &bad_type, Implementation::Streaming)
        .err()
        .expect("an error");
    let msg = err.to_string();
    assert!(
        msg.starts_with("book.xlsx: sheet \"Officers\" near row 500:"),
        "{msg}"
    );
    // A shared-string index past the table (calamine indexes it unchecked).
    let bad_index = replace_part(&input, "xl/worksheets/sheet2.xml", |xml| {
        let at = xml.find("<c r=\"B400\"").unwrap();
        let v = at + xml[at..].find("<v>").unwrap() + 3;
        let end = v + xml[v..].find('<').unwrap();
        format!("{}99999999{}", &xml[..v], &xml[end..])
    });
    let err = run(&general, &bad_index, Implementation::Streaming)
        .err()
        .expect("an error");
    let msg = err.to_string();
    assert!(
        msg.starts_with("book.xlsx: sheet \"Officers\" near row")
            && msg.contains("could not be processed"),
        "{msg}"
    );
    // Truncated in the middle of the sheet data.
    let truncated = replace_part(&input, "xl/worksheets/sheet1.xml", |xml| {
        let at = xml.find("<row r=\"600\"").unwrap();
        xml[..at].to_string()
    });
    let err = run(&general, &truncated, Implementation::Streaming)
        .err()
        .expect("an error");
    let msg = err.to_string();
    assert!(
        msg.starts_with("book.xlsx: sheet \"Bookings\" near row 599:"),
        "{msg}"
    );
    for secret in ["GARCIA", "NGUYEN", "officer"] {
        assert!(!msg.contains(secret), "{msg}");
    }
}

/// Asserts that two runs gave the same release.
fn same_release(got: &Run, want: &Run) {
    assert_eq!(got.sheets.len(), want.sheets.len());
    for ((name, got), (want_name, want)) in got.sheets.iter().zip(&want.sheets) {
        assert_eq!(name, want_name);
        assert_eq!(got.start(), want.start(), "sheet {name}");
        assert_eq!(got.end(), want.end(), "sheet {name}");
        for (r, (g, w)) in got.rows().zip(want.rows()).enumerate() {
            assert_eq!(g, w, "sheet {name}, row {}", r + 1);
        }
    }
    assert_eq!(got.report, want.report);
    for (k, (g, w)) in got.log.lines().zip(want.log.lines()).enumerate() {
        assert_eq!(g, w, "log line {}", k + 1);
    }
    assert_eq!(got.log.lines().count(), want.log.lines().count());
    assert_eq!(got.review, want.review);
}

/// A workbook whose shared strings are put inline first (as a large table is) gives the same
/// release as calamine reading the table; also with rich text, phonetic runs, entities, and
/// entries calamine skips (which shift the indices) in the table.
#[test]
fn inlined_shared_strings_give_the_same_release() {
    let general = Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap();
    let plain = workbook();
    let edited = replace_part(&plain, "xl/sharedStrings.xml", |xml| {
        assert!(xml.contains("<si><t>THEFT</t></si>") && xml.contains("<t>NO STATEMENT</t>"));
        let first = xml.find("<si>").unwrap();
        let skipped = "<si/><si><rPh sb=\"0\" eb=\"1\"><t>\u{3075}</t></rPh></si><si></si>";
        let xml = format!("{}{skipped}{}", &xml[..first], &xml[first..]);
        xml.replace(
            "<si><t>THEFT</t></si>",
            "<si><r><t>TH</t></r><r><rPr><b/></rPr><t xml:space=\"preserve\">EFT </t></r><rPh sb=\"0\" eb=\"2\"><t>x</t></rPh></si>",
        )
        .replace("<t>NO STATEMENT</t>", "<t>NO &amp; STATEMENT &#65;&lt;</t>")
    });
    assert_ne!(edited, plain);
    for input in [&plain, &edited] {
        let want = run(&general, input, Implementation::Streaming).unwrap();
        let got = run(&general, input, Implementation::Inlined).unwrap();
        same_release(&got, &want);
    }
    // The edits reached the release: the rich text read whole, the entities decoded.
    let got = run(&general, &edited, Implementation::Inlined).unwrap();
    let (_, bookings) = &got.sheets[0];
    let cells: Vec<&Data> = bookings.rows().flatten().collect();
    assert!(cells.contains(&&Data::String("THEFT ".into())), "rich text");
    assert!(
        cells.contains(&&Data::String("NO & STATEMENT A<".into())),
        "entities"
    );
}

/// A cell that names a string the table lacks is an error, inline as read from the table.
#[test]
fn missing_shared_string_is_an_error_when_inlined() {
    let general = Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap();
    let input = replace_part(&workbook(), "xl/worksheets/sheet2.xml", |xml| {
        let at = xml.find("<c r=\"B500\"").unwrap();
        let v = at + xml[at..].find("<v>").unwrap() + 3;
        let end = v + xml[v..].find("</v>").unwrap();
        format!("{}999999{}", &xml[..v], &xml[end..])
    });
    for with in [Implementation::Streaming, Implementation::Inlined] {
        let err = run(&general, &input, with).err().expect("an error");
        assert!(err.to_string().starts_with("book.xlsx: "), "{err}");
    }
    let err = run(&general, &input, Implementation::Inlined)
        .err()
        .unwrap();
    assert!(err.to_string().contains("shared string 999999"), "{err}");
}
