//! CSV and TSV: the header and a sample of rows classify each column; classified columns are acted
//! on whole, the others scanned cell by cell; each row is one record for propagation.

use std::io::{Read, Write};

use rayon::prelude::*;

use super::{
    batch_len, CellRun, FileReport, FormatError, LogBatch, Sink, BATCH_BYTES, MAX_LINE_BYTES,
};
use crate::columns::{classify_column, hint_for, ColumnClass, ColumnRole};
use crate::entity::EntityKind;
use crate::log::Location;
use crate::policy::Action;
use crate::redactor::{FieldRole, RedactedField, Redactor};

/// Rows redacted together by one task (one output buffer and one log batch).
const ROWS_PER_TASK: usize = 64;

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
    mut output: W,
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
    let mut header = Vec::new();
    push_record(
        &mut header,
        delimiter,
        headers
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(h, _)| (h, false)),
    );
    output
        .write_all(&header)
        .map_err(|e| FormatError::io(file, e))?;
    // Per kind: its label needs no quotes with this delimiter. Whole-cell labels are most of a
    // redacted table's output, and checking their bytes cell by cell was 3 % of its instructions.
    let plain_labels: Vec<bool> = EntityKind::ALL
        .iter()
        .map(|&k| !needs_quotes(redactor.label(k).as_bytes(), delimiter))
        .collect();
    // True when a released cell is its kind's label (the redactor's own string, not a copy),
    // and that label needs no quotes.
    let plain_label = |f: &RedactedField<'_>| match f.applied.as_slice() {
        [a] => {
            let label = redactor.label(a.kind);
            plain_labels.get(a.kind as usize) == Some(&true)
                && std::ptr::eq(label.as_ptr(), f.text.as_ptr())
                && label.len() == f.text.len()
        }
        _ => false,
    };
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
        // Rows are redacted in runs: each run writes its CSV text and log lines into its own
        // buffers (few allocations), and the runs are written out in order.
        let first_row = row;
        let done: Vec<Result<(Vec<u8>, LogBatch), FormatError>> = pending
            .par_chunks(ROWS_PER_TASK)
            .enumerate()
            .map(|(c, recs)| {
                let mut out: Vec<u8> =
                    Vec::with_capacity(recs.iter().map(|r| r.as_slice().len() + r.len() + 8).sum());
                let mut log = LogBatch::default();
                let mut fields: Vec<(&str, FieldRole)> = Vec::with_capacity(roles.len());
                let mut redacted: Vec<RedactedField<'_>> = Vec::with_capacity(roles.len());
                // Per classified column, the run of whole-cell redactions not yet logged.
                let mut runs: Vec<Option<CellRun>> = vec![None; columns.len()];
                for (i, rec) in recs.iter().enumerate() {
                    fields.clear();
                    fields.extend(rec.iter().zip(&roles).map(|(v, r)| (v, *r)));
                    redactor.redact_record_into(&fields, &mut redacted);
                    let row = first_row + (c * ROWS_PER_TASK + i) as u64 + 1;
                    // The cells as `fields` holds them: the record is not split again.
                    for (k, ((&(value, role), field), class)) in
                        fields.iter().zip(&redacted).zip(&columns).enumerate()
                    {
                        if matches!(role, FieldRole::Whole(_)) {
                            let cell = CellRun::of(row, value, field);
                            match (&mut runs[k], cell) {
                                (Some(run), Some(cell)) if run.continued_by(&cell) => {
                                    run.rows[1] = row;
                                    continue;
                                }
                                (slot, cell) => {
                                    if let Some(run) = slot.take() {
                                        log.column_run(redactor, &class.name, &run);
                                    }
                                    *slot = cell;
                                    if cell.is_some() {
                                        continue;
                                    }
                                }
                            }
                        }
                        let location = |_pos: usize| Location::Cell {
                            row,
                            column: &class.name,
                        };
                        // Cells of a dropped column are logged too: the log says what was
                        // withheld.
                        log.field(redactor, file, value, field, &location);
                    }
                    push_record(
                        &mut out,
                        delimiter,
                        redacted
                            .iter()
                            .zip(&keep)
                            .filter(|(_, k)| **k)
                            .map(|(f, _)| (f.text.as_ref(), plain_label(f))),
                    );
                    redactor.recycle_in_place(&mut redacted);
                }
                for (run, class) in runs.iter().zip(&columns) {
                    if let Some(run) = run {
                        log.column_run(redactor, &class.name, run);
                    }
                }
                Ok((out, log))
            })
            .collect();
        for result in done {
            let (out, mut log) = result?;
            log.flush(file, sink, &mut report)?;
            output
                .write_all(&out)
                .map_err(|e| FormatError::io(file, e))?;
        }
        for rec in &pending {
            row += 1;
            report.bytes += rec.as_slice().len() as u64 + rec.len() as u64;
        }
        report.records = row;
        progress(reader_position(&records));
        pending.clear();
    }
    output.flush().map_err(|e| FormatError::io(file, e))?;
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

/// True when `csv::Writer` quotes a field of these bytes: it holds the delimiter, a quote, CR
/// or LF.
fn needs_quotes(bytes: &[u8], delimiter: u8) -> bool {
    bytes
        .iter()
        .any(|&b| b == delimiter || matches!(b, b'"' | b'\r' | b'\n'))
}

/// Appends one record to `out` byte for byte as `csv::Writer` with default settings and this
/// delimiter writes it: a field is quoted, its quotes doubled, only if it holds the delimiter,
/// a quote, CR or LF; a record with no bytes at all (no fields, or one empty field) is written
/// `""`; `\n` ends it. Written directly because the csv writer's state machine, its own
/// buffer and the copy out of it were 7 % of a booking-log redaction's instructions (this
/// costs about two thirds of that). Each field comes with whether it is known to need no
/// quotes (then its bytes are not checked).
fn push_record<'a>(
    out: &mut Vec<u8>,
    delimiter: u8,
    fields: impl Iterator<Item = (&'a str, bool)>,
) {
    let start = out.len();
    for (k, (field, plain)) in fields.enumerate() {
        if k > 0 {
            out.push(delimiter);
        }
        let bytes = field.as_bytes();
        if plain || !needs_quotes(bytes, delimiter) {
            out.extend_from_slice(bytes);
            continue;
        }
        out.push(b'"');
        let mut rest = bytes;
        while let Some(q) = rest.iter().position(|&b| b == b'"') {
            out.extend_from_slice(&rest[..=q]);
            out.push(b'"');
            rest = &rest[q + 1..];
        }
        out.extend_from_slice(rest);
        out.push(b'"');
    }
    if out.len() == start {
        out.extend_from_slice(b"\"\"");
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::{push_record, redact};
    use crate::formats::MemorySink;
    use crate::{Policy, Redactor};

    fn by_csv(delimiter: u8, fields: &[&str]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(Vec::new());
        w.write_record(fields).unwrap();
        w.into_inner().unwrap()
    }

    /// Every field of up to three bytes over an alphabet of plain and special bytes, alone and
    /// in pairs (shorter ones), and records of no field or several empty ones: the same bytes
    /// as the csv crate's writer, with either delimiter.
    #[test]
    fn records_as_the_csv_writer_writes_them() {
        let alphabet = ["a", ",", "\t", "\"", "\r", "\n", " ", "é", "\\"];
        let mut fields = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = fields
                .iter()
                .flat_map(|f| alphabet.iter().map(move |c| format!("{f}{c}")))
                .collect();
            fields.extend(longer);
        }
        fields.sort();
        fields.dedup();
        let short: Vec<&String> = fields.iter().filter(|f| f.len() <= 2).collect();
        for delimiter in [b',', b'\t'] {
            let mut records: Vec<Vec<&str>> = vec![vec![], vec!["", ""], vec!["", "", ""]];
            records.extend(fields.iter().map(|f| vec![f.as_str()]));
            for a in &short {
                for b in &short {
                    records.push(vec![a.as_str(), b.as_str()]);
                }
            }
            for record in &records {
                let mut got = Vec::new();
                push_record(&mut got, delimiter, record.iter().map(|f| (*f, false)));
                assert_eq!(got, by_csv(delimiter, record), "{record:?}");
            }
        }
    }

    /// Labels are written unchecked only when they need no quotes: with a label holding a comma,
    /// a tab and quotes, the corpus tables come out as the csv writer writes what they parse to
    /// (both delimiters), with that label in them; with the shipped labels too.
    #[test]
    fn labels_are_quoted_when_they_need_it() {
        let shipped = include_str!("../../../../policies/foia-general.toml");
        let odd = shipped.replace(
            "exemption = \"7(1)(b)\"",
            "exemption = \"7(1)(b), \\\"q\\\"\\t\"",
        );
        assert_ne!(odd, shipped);
        let corpus = crate::corpus::generate(11, 150);
        for (name, source) in [("shipped", shipped), ("odd", odd.as_str())] {
            let redactor = Redactor::new(Policy::from_toml(name, source).unwrap()).unwrap();
            let label = redactor.label(crate::entity::EntityKind::Ssn).to_string();
            for delimiter in [b',', b'\t'] {
                for t in &corpus.tables {
                    let mut input = csv::WriterBuilder::new()
                        .delimiter(delimiter)
                        .from_writer(Vec::new());
                    input.write_record(&t.headers).unwrap();
                    for r in &t.rows {
                        input
                            .write_record(r.fields.iter().map(|f| f.text.as_str()))
                            .unwrap();
                    }
                    let input = input.into_inner().unwrap();
                    let mut out = Vec::new();
                    let mut sink = MemorySink::default();
                    redact(
                        &redactor,
                        &input[..],
                        &mut out,
                        delimiter,
                        "t",
                        &mut sink,
                        &|_| {},
                    )
                    .unwrap();
                    let mut reader = csv::ReaderBuilder::new()
                        .delimiter(delimiter)
                        .has_headers(false)
                        .from_reader(&out[..]);
                    let mut again = csv::WriterBuilder::new()
                        .delimiter(delimiter)
                        .from_writer(Vec::new());
                    let mut labels = 0;
                    for r in reader.records() {
                        let r = r.unwrap();
                        labels += r.iter().filter(|f| *f == label).count();
                        again.write_record(&r).unwrap();
                    }
                    assert_eq!(again.into_inner().unwrap(), out, "{name}");
                    assert!(labels > 50, "{name}: {labels}");
                }
            }
        }
    }
}
