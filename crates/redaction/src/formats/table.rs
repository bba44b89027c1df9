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
    let mut rows = Rows::new(reader, file, MAX_LINE_BYTES);
    rows.fill(SAMPLE_ROWS, usize::MAX)?;
    let columns: Vec<ColumnClass> = {
        let cells = rows.cells()?;
        let sample = rows.records(&cells);
        headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let column: Vec<&str> = sample.iter().filter_map(|r| r.get(i).copied()).collect();
                classify_column(redactor.chain(), h, &column)
            })
            .collect()
    };
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
        rows.fill(batch_len(512), BATCH_BYTES)?;
        if rows.is_empty() {
            break;
        }
        let cells = rows.cells()?;
        let pending = rows.records(&cells);
        // Rows are redacted in runs: each run writes its CSV text and log lines into its own
        // buffers (few allocations), and the runs are written out in order.
        let first_row = row;
        let done: Vec<Result<(Vec<u8>, LogBatch), FormatError>> = pending
            .par_chunks(ROWS_PER_TASK)
            .enumerate()
            .map(|(c, recs)| {
                // Room for the output and the log of the run's rows, so neither grows by
                // doubling (each growth copies what is written): labels make a redacted row
                // longer than its input, by a fifth in the booking log.
                let input: usize = recs.iter().flat_map(|r| r.iter()).map(|f| f.len()).sum();
                let fields: usize = recs.iter().map(|r| r.len()).sum();
                let mut out: Vec<u8> = Vec::with_capacity(input + input / 2 + fields + 8);
                let mut log = LogBatch::for_input(input);
                let mut fields: Vec<(&str, FieldRole)> = Vec::with_capacity(roles.len());
                let mut redacted: Vec<RedactedField<'_>> = Vec::with_capacity(roles.len());
                // Per classified column, the run of whole-cell redactions not yet logged.
                let mut runs: Vec<Option<CellRun>> = vec![None; columns.len()];
                for (i, rec) in recs.iter().enumerate() {
                    fields.clear();
                    fields.extend(rec.iter().zip(&roles).map(|(v, r)| (*v, *r)));
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
                }
                redactor.recycle_in_place(&mut redacted);
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
        row += pending.len() as u64;
        report.bytes += rows.bytes();
        report.records = row;
        drop(pending);
        drop(cells);
        progress(rows.position());
        rows.clear();
    }
    output.flush().map_err(|e| FormatError::io(file, e))?;
    report.columns = columns;
    Ok(report)
}

/// The message for a field that is not UTF-8 (the csv crate's `Utf8` error, worded as
/// [`csv_error`] words it).
fn utf8_error(file: &str, line: u64, field: usize) -> FormatError {
    FormatError::Csv {
        file: file.to_string(),
        line,
        message: format!(
            "invalid UTF-8 in field {}; convert the file to UTF-8",
            field + 1
        ),
    }
}

/// A batch of records read as bytes: every field's bytes one after another, validated as
/// UTF-8 once per batch. The csv crate's `StringRecord`s cost an allocation and a copy per
/// record and a UTF-8 check per record; reading `ByteRecord`s into one buffer does neither.
/// Errors are those the `StringRecord` reader gave, in the same order: a record's read error
/// before its UTF-8 error, that before its length; an earlier record's error before a later
/// one's.
struct Rows<'f, R> {
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
    file: &'f str,
    /// The longest record accepted (bytes of its fields).
    max_record: usize,
    /// The batch's fields' bytes, one after another.
    bytes: Vec<u8>,
    /// Where each field ends in `bytes`.
    ends: Vec<usize>,
    /// Per record: the index in `ends` one past its last field, and its line.
    records: Vec<(usize, u64)>,
}

impl<'f, R: Read> Rows<'f, R> {
    fn new(reader: csv::Reader<R>, file: &'f str, max_record: usize) -> Self {
        Rows {
            reader,
            record: csv::ByteRecord::new(),
            file,
            max_record,
            bytes: Vec::new(),
            ends: Vec::new(),
            records: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Empties the batch (its buffers are kept for the next one).
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.records.clear();
    }

    /// The input read so far, in bytes.
    fn position(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The batch's size as the reports count it: each record's field bytes and one per field.
    fn bytes(&self) -> u64 {
        (self.bytes.len() + self.ends.len()) as u64
    }

    /// Reads records until the batch holds `max_rows` or `max_bytes` of fields, or the input
    /// ends.
    fn fill(&mut self, max_rows: usize, max_bytes: usize) -> Result<(), FormatError> {
        while self.records.len() < max_rows && self.bytes.len() < max_bytes {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    // An earlier record's bad UTF-8 was the first error.
                    self.check_utf8()?;
                    return Err(csv_error(self.file, e));
                }
            }
            let line = self.record.position().map(|p| p.line()).unwrap_or(0);
            if self.record.as_slice().len() > self.max_record {
                self.check_utf8()?;
                if let Some(field) = first_invalid_field(self.record.iter()) {
                    return Err(utf8_error(self.file, line, field));
                }
                return Err(FormatError::LineTooLong {
                    file: self.file.to_string(),
                    line,
                    max: self.max_record,
                });
            }
            let base = self.bytes.len();
            self.bytes.extend_from_slice(self.record.as_slice());
            let mut start = 0;
            for field in self.record.iter() {
                start += field.len();
                self.ends.push(base + start);
            }
            self.records.push((self.ends.len(), line));
        }
        Ok(())
    }

    /// The first record of the batch with a field that is not UTF-8, as the csv crate reports
    /// it.
    fn check_utf8(&self) -> Result<(), FormatError> {
        let mut first = 0;
        for &(last, line) in &self.records {
            let fields = self.fields(first, last);
            if let Some(field) = first_invalid_field(fields) {
                return Err(utf8_error(self.file, line, field));
            }
            first = last;
        }
        Ok(())
    }

    /// The bytes of fields `first..last`.
    fn fields(&self, first: usize, last: usize) -> impl Iterator<Item = &[u8]> {
        (first..last).map(move |i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            self.bytes.get(start..self.ends[i]).unwrap_or_default()
        })
    }

    /// Every field as text, if the batch is UTF-8 and no field boundary splits a character.
    fn cells_at_boundaries(&self) -> Option<Vec<&str>> {
        let text = std::str::from_utf8(&self.bytes).ok()?;
        let mut start = 0;
        let mut cells = Vec::with_capacity(self.ends.len());
        for &end in &self.ends {
            cells.push(text.get(start..end)?);
            start = end;
        }
        Some(cells)
    }

    /// Every field of the batch as text, or the error for its first record that is not UTF-8.
    fn cells(&self) -> Result<Vec<&str>, FormatError> {
        match self.cells_at_boundaries() {
            Some(cells) => Ok(cells),
            None => {
                self.check_utf8()?;
                // Not reached: a batch without an invalid field has every boundary on a
                // character.
                Err(utf8_error(self.file, 0, 0))
            }
        }
    }

    /// The batch's records, as slices of `cells`.
    fn records<'c>(&self, cells: &'c [&'c str]) -> Vec<&'c [&'c str]> {
        let mut first = 0;
        self.records
            .iter()
            .map(|&(last, _)| {
                let rec = cells.get(first..last).unwrap_or_default();
                first = last;
                rec
            })
            .collect()
    }
}

/// The index of the first field that is not UTF-8.
fn first_invalid_field<'a>(fields: impl Iterator<Item = &'a [u8]>) -> Option<usize> {
    fields
        .enumerate()
        .find(|(_, f)| std::str::from_utf8(f).is_err())
        .map(|(i, _)| i)
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
    use super::{csv_error, push_record, redact, FormatError, Rows};
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

    /// What the reader gives for `input`: the records' fields, or the error as displayed.
    type Read = Result<Vec<Vec<String>>, String>;

    fn csv_reader(input: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
        csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(false)
            .has_headers(true)
            .from_reader(input)
    }

    /// The reading `redact` did before `Rows`: one `StringRecord` at a time, each checked for
    /// its length.
    fn by_string_records(input: &[u8], delimiter: u8, max_record: usize) -> Read {
        let mut reader = csv_reader(input, delimiter);
        reader
            .headers()
            .map_err(|e| csv_error("f", e).to_string())?;
        let mut out = Vec::new();
        for r in reader.records() {
            let r = r.map_err(|e| csv_error("f", e).to_string())?;
            if r.as_slice().len() > max_record {
                let line = r.position().map(|p| p.line()).unwrap_or(0);
                let e = FormatError::LineTooLong {
                    file: "f".into(),
                    line,
                    max: max_record,
                };
                return Err(e.to_string());
            }
            out.push(r.iter().map(str::to_string).collect());
        }
        Ok(out)
    }

    /// `Rows` as `redact` uses it: a sample, then batches of `rows` records or `bytes` bytes
    /// (the first one holding the sample).
    fn by_rows(
        input: &[u8],
        delimiter: u8,
        max_record: usize,
        sample: usize,
        rows: usize,
        bytes: usize,
    ) -> Read {
        let mut reader = csv_reader(input, delimiter);
        reader
            .headers()
            .map_err(|e| csv_error("f", e).to_string())?;
        let mut batch = Rows::new(reader, "f", max_record);
        batch.fill(sample, usize::MAX).map_err(|e| e.to_string())?;
        batch.cells().map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        loop {
            batch.fill(rows, bytes).map_err(|e| e.to_string())?;
            if batch.is_empty() {
                return Ok(out);
            }
            let cells = batch.cells().map_err(|e| e.to_string())?;
            for r in batch.records(&cells) {
                out.push(r.iter().map(|f| f.to_string()).collect());
            }
            batch.clear();
        }
    }

    /// `Rows` reads what the csv crate's `StringRecord`s read and fails where and as they
    /// failed: quoted fields with delimiters, quotes and newlines, CRLF and lone CR, blank
    /// lines, a BOM, multi-byte characters, bad UTF-8 (also a character split by a delimiter,
    /// valid once the fields are joined), ragged rows and over-long records, each before and
    /// after other errors; whole inputs and mutants of them, with several batch sizes.
    #[test]
    fn rows_read_as_string_records_do() {
        let mut inputs: Vec<Vec<u8>> = [
            &b"a,b,c\n1,2,3\n4,5,6\n"[..],
            b"a,b\r\n1,\"x,\"\"y\"\"\nz\"\r\n\r\n\n3,4\r5,6",
            b"\xEF\xBB\xBFname,age\nJos\xC3\xA9,3\n\"M\xC3\xBCller\",\"\"\n",
            b"a,b\nx\xC3,\xA9y\n1,2\n",
            b"a,b\n1,2\nx\xFF,y\n3,4,5\n",
            b"a,b\n1,2,3\nx\xFF,y\n",
            b"a,b\n1,2\n3\n\xFF,4\n",
            b"a,b\n12345678901234567890,x\n1,2\n",
            b"a,b\n1,\xFF2345678901234567890\n1,2\n",
            b"a,b\n\"un,closed\n1,2\n",
            b"a,b\n1,2",
            b"",
            b"\n\n",
            b"a\n\n\n1\n\n2\n",
            b"a,b\n\"\",\"\"\n,\n",
            b"a\tb\n1\t\"2\t3\"\n",
        ]
        .iter()
        .map(|i| i.to_vec())
        .collect();
        // Mutants of a table with every kind of field: bytes replaced, inserted and deleted.
        let base: &[u8] = b"id,name,note\r\n1,Jos\xC3\xA9,\"said \"\"hi\"\", left\r\nthen\"\r\n2,\"A, B\",plain\n\n3,C,\xC3\xA9t\xC3\xA9\n";
        let base = base.to_vec();
        let specials = [
            b',', b'"', b'\r', b'\n', b'\t', 0xC3, 0xA9, 0xFF, b'x', 0xEF,
        ];
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..3000 {
            let mut m = base.clone();
            for _ in 0..1 + next(3) {
                let at = next(m.len() + 1);
                let b = specials[next(specials.len())];
                match next(3) {
                    0 if at < m.len() => m[at] = b,
                    1 if at < m.len() => {
                        m.remove(at);
                    }
                    _ => m.insert(at, b),
                }
            }
            inputs.push(m);
        }
        let mut failures = 0;
        for input in &inputs {
            for delimiter in [b',', b'\t'] {
                for max_record in [usize::MAX, 12] {
                    let want = by_string_records(input, delimiter, max_record);
                    failures += usize::from(want.is_err());
                    for (sample, rows, bytes) in [(200, 512, usize::MAX), (1, 1, 9), (2, 3, 20)] {
                        let got = by_rows(input, delimiter, max_record, sample, rows, bytes);
                        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(input));
                    }
                }
            }
        }
        // The mutants reach the error paths.
        assert!(failures > 1000, "{failures}");
    }
}
