//! CSV and TSV: the header and a sample of rows classify each column; classified columns are acted
//! on whole, the others scanned cell by cell; each row is one record for propagation.

use std::io::{Read, Write};

use rayon::prelude::*;

use super::{batch_len, report_field, FileReport, FormatError, Sink, BATCH_BYTES, MAX_LINE_BYTES};
use crate::columns::{classify_column, hint_for, ColumnClass, ColumnRole};
use crate::log::Location;
use crate::policy::Action;
use crate::redactor::{FieldRole, Redactor};

/// Rows read before classifying columns.
pub const SAMPLE_ROWS: usize = 200;

fn csv_error(file: &str, e: csv::Error) -> FormatError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "invalid UTF-8 in field {}; convert the file to UTF-8",
            err.field() + 1
        ),
        csv::ErrorKind::Io(io) => format!("I/O error: {io}"),
        _ => "unreadable record".to_string(),
    };
    FormatError::Csv {
        file: file.to_string(),
        line,
        message,
    }
}

/// Redacts a CSV (`delimiter` b',') or TSV (b'\t') stream.
pub fn redact<R: Read, W: Write>(
    redactor: &Redactor,
    input: R,
    output: W,
    delimiter: u8,
    file: &str,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64),
) -> Result<FileReport, FormatError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .has_headers(true)
        .from_reader(input);
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(output);
    let headers = reader.headers().map_err(|e| csv_error(file, e))?.clone();
    let mut records = reader.records();
    let mut pending: Vec<csv::StringRecord> = Vec::new();
    for r in records.by_ref().take(SAMPLE_ROWS) {
        pending.push(checked(r, file)?);
    }
    let columns: Vec<ColumnClass> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let sample: Vec<&str> = pending.iter().filter_map(|r| r.get(i)).collect();
            classify_column(redactor.chain(), h, &sample)
        })
        .collect();
    let roles: Vec<FieldRole> = columns
        .iter()
        .map(|c| match c.role {
            ColumnRole::Entity(kind) => FieldRole::Whole(kind),
            other => FieldRole::Scan(hint_for(other)),
        })
        .collect();
    let keep: Vec<bool> = columns
        .iter()
        .map(|c| !matches!(c.role, ColumnRole::Entity(k) if redactor.policy().rule(k).action == Action::DropColumn))
        .collect();
    let mut report = FileReport {
        file: file.to_string(),
        format: if delimiter == b'\t' { "tsv" } else { "csv" }.into(),
        ..Default::default()
    };
    writer
        .write_record(
            headers
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(h, _)| h),
        )
        .map_err(|e| csv_error(file, e))?;
    let mut row: u64 = 0;
    loop {
        let mut batch_bytes: usize = pending.iter().map(|r| r.as_slice().len()).sum();
        while pending.len() < batch_len(512) && batch_bytes < BATCH_BYTES {
            match records.next() {
                Some(r) => {
                    let rec = checked(r, file)?;
                    batch_bytes += rec.as_slice().len();
                    pending.push(rec);
                }
                None => break,
            }
        }
        if pending.is_empty() {
            break;
        }
        let redacted: Vec<_> = pending
            .par_iter()
            .map(|rec| {
                let fields: Vec<(&str, FieldRole)> =
                    rec.iter().zip(&roles).map(|(v, r)| (v, *r)).collect();
                redactor.redact_record(&fields)
            })
            .collect();
        for (rec, fields) in pending.iter().zip(&redacted) {
            row += 1;
            for ((value, field), class) in rec.iter().zip(fields).zip(&columns) {
                let location = |_pos: usize| Location::Cell {
                    row,
                    column: class.name.clone(),
                };
                // Cells of a dropped column are logged too: the log says what was withheld.
                report_field(redactor, file, value, field, &location, sink, &mut report)?;
            }
            writer
                .write_record(
                    fields
                        .iter()
                        .zip(&keep)
                        .filter(|(_, k)| **k)
                        .map(|(f, _)| f.text.as_str()),
                )
                .map_err(|e| csv_error(file, e))?;
            report.bytes += rec.as_slice().len() as u64 + rec.len() as u64;
        }
        report.records = row;
        progress(reader_position(&records));
        pending.clear();
    }
    writer.flush().map_err(|e| FormatError::io(file, e))?;
    report.columns = columns;
    Ok(report)
}

fn reader_position<R: Read>(records: &csv::StringRecordsIter<'_, R>) -> u64 {
    records.reader().position().byte()
}

fn checked(
    r: Result<csv::StringRecord, csv::Error>,
    file: &str,
) -> Result<csv::StringRecord, FormatError> {
    let rec = r.map_err(|e| csv_error(file, e))?;
    if rec.as_slice().len() > MAX_LINE_BYTES {
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        return Err(FormatError::LineTooLong {
            file: file.to_string(),
            line,
            max: MAX_LINE_BYTES,
        });
    }
    Ok(rec)
}
