//! Memory of XLSX redaction against the number of rows (diagnosis, not a benchmark). Makes a
//! workbook of booking-log rows from the generated corpus, then redacts it as a release does
//! (file in, file out, log and review list to files); measure the second step's peak RSS:
//!
//! ```text
//! cargo build --release -p citygate-redaction --example xlsx_memory
//! xlsx_memory make ROWS FILE [--shared-strings]
//! /usr/bin/time -f '%M KB %e s' xlsx_memory redact FILE OUT_DIR
//! ```
//!
//! `make` writes eight columns (booking number as a number, last and first name, date of
//! birth, phone, SSN, charge, notes) of the corpus's booking table (its first 50,000 rows,
//! repeated past that). Strings are inline by default, so the reader's shared-string table
//! (held in memory whole, whatever the rows) stays empty and the figure is the rows' own; with
//! `--shared-strings` they go to the shared-string table as Excel writes them.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::time::Instant;

use citygate_redaction::corpus::generate;
use citygate_redaction::formats::{xlsx, Sink};
use citygate_redaction::{Policy, Redactor};

/// Booking-log columns written: number, last, first, date of birth, phone, SSN, charge, notes.
const COLUMNS: [usize; 8] = [0, 2, 3, 4, 7, 9, 11, 13];

fn make(rows: usize, path: &str, shared: bool) -> Result<(), Box<dyn std::error::Error>> {
    let corpus = generate(2026, rows.clamp(1, 50_000));
    let table = &corpus.tables[0];
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = if shared {
        book.add_worksheet()
    } else {
        book.add_worksheet_with_constant_memory()
    };
    sheet.set_name("Bookings")?;
    for (c, &k) in COLUMNS.iter().enumerate() {
        sheet.write_string(0, c as u16, &table.headers[k])?;
    }
    for r in 0..rows {
        let row = &table.rows[r % table.rows.len()];
        let out_row = u32::try_from(r + 1)?;
        for (c, &k) in COLUMNS.iter().enumerate() {
            let text = &row.fields[k].text;
            match (k, text.parse::<f64>()) {
                (0, Ok(n)) => sheet.write_number(out_row, c as u16, n)?,
                _ => sheet.write_string(out_row, c as u16, text)?,
            };
        }
    }
    book.save(path)?;
    Ok(())
}

/// Log and review lines to files, as a release writes them.
struct FileSink {
    log: BufWriter<File>,
    review: BufWriter<File>,
}

impl Sink for FileSink {
    fn write_log(&mut self, lines: &[u8]) -> std::io::Result<()> {
        self.log.write_all(lines)
    }
    fn write_review(&mut self, lines: &[u8]) -> std::io::Result<()> {
        self.review.write_all(lines)
    }
}

fn redact(path: &str, out_dir: &str) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out_dir)?;
    let redactor = Redactor::new(Policy::shipped("foia-general")?)?;
    let input = BufReader::with_capacity(1 << 20, File::open(path)?);
    let output = BufWriter::with_capacity(1 << 20, File::create(format!("{out_dir}/out.xlsx"))?);
    let mut sink = FileSink {
        log: BufWriter::new(File::create(format!("{out_dir}/log.jsonl"))?),
        review: BufWriter::new(File::create(format!("{out_dir}/review.jsonl"))?),
    };
    let start = Instant::now();
    let report = xlsx::redact(&redactor, input, output, "in.xlsx", &mut sink)?;
    sink.log.flush()?;
    sink.review.flush()?;
    println!(
        "{} rows redacted in {:.2} s, {} redactions",
        report.records,
        start.elapsed().as_secs_f64(),
        report.redactions.values().sum::<u64>()
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["make", rows, path, rest @ ..] => match rows.parse() {
            Ok(rows) => make(rows, path, rest.contains(&"--shared-strings")),
            Err(e) => Err(format!("ROWS: {e}").into()),
        },
        ["redact", path, out_dir] => redact(path, out_dir),
        _ => {
            Err("usage: xlsx_memory make ROWS FILE [--shared-strings] | redact FILE OUT_DIR".into())
        }
    };
    if let Err(e) = result {
        eprintln!("xlsx_memory: {e}");
        std::process::exit(1);
    }
}
