//! XLSX workbooks: read with calamine after a zip-bomb check, every sheet classified and redacted
//! like a CSV table (first row = header), written with rust_xlsxwriter. Unredacted numbers and
//! booleans keep their type; dates and redacted cells are written as text.
//!
//! Sheets are streamed, not loaded: each is read twice with calamine's cell reader (cells in
//! row-major order). The first pass only finds the extent of the non-empty cells (first and last
//! row and column, which fix the header row, each row's width and the cell references, exactly
//! as `worksheet_range` would) and checks the order; the second rebuilds each row (missing
//! cells empty), keeps the first [`SAMPLE_ROWS`] body rows to classify the columns, then
//! redacts bounded batches of rows in parallel and writes them, and their log lines, in input
//! order. Sheets of more than [`IN_MEMORY_CELLS`] cells are written to rust_xlsxwriter's
//! constant-memory worksheets (each row goes to a temporary file, in the system temp
//! directory, once the next one starts).
//!
//! Memory is therefore bounded per batch, not per sheet, with two exceptions: calamine holds
//! the workbook's shared-string table in memory, so a table over [`inline::INLINE_ABOVE`] bytes
//! is first put inline in a temporary copy of the workbook (`xlsx/inline.rs`) and only smaller
//! ones are held; and a sheet whose cells are not in row-major order (which the format
//! requires, but some writers break) is read whole with `worksheet_range` as before.

use std::borrow::Cow;
use std::cell::Cell as StdCell;
use std::io::{Read, Seek, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use calamine::{Data, DataRef, Reader, Xlsx, XlsxError};
use rayon::prelude::*;
use rust_xlsxwriter::{Workbook, Worksheet};

use super::table::SAMPLE_ROWS;
use super::{batch_len, FileReport, FormatError, LogBatch, Sink, BATCH_BYTES};
use crate::columns::{classify_column, hint_for, ColumnClass, ColumnRole};
use crate::log::Location;
use crate::policy::Action;
use crate::redactor::{FieldRole, Redactor};

/// Limits on the archive, checked before any part is decompressed.
pub const MAX_ENTRIES: usize = 10_000;
/// Total declared uncompressed size.
pub const MAX_UNCOMPRESSED: u64 = 2 * 1024 * 1024 * 1024;
/// Largest compression ratio for entries over 1 MiB.
pub const MAX_RATIO: u64 = 200;
/// Sheets whose extent (rows × columns) is at most this are written in memory, with a shared
/// string table, as before; larger ones go through a constant-memory worksheet (inline
/// strings, rows written to its temporary file as they come). With the `constant_memory`
/// feature rust_xlsxwriter opens a temporary file for every worksheet, small or not, until the
/// workbook is saved: a workbook needs a file descriptor per sheet.
pub const IN_MEMORY_CELLS: u64 = 4096;

/// Rows redacted together by one task (one log batch).
const ROWS_PER_TASK: usize = 64;

fn bad(file: &str, message: impl Into<String>) -> FormatError {
    FormatError::Unsupported {
        file: file.to_string(),
        message: message.into(),
    }
}

/// Rejects archives whose declared sizes look like a zip bomb. Returns the declared size of the
/// shared-string table (0 when there is none), read from the same directory.
pub fn check_archive<R: Read + Seek>(reader: R, file: &str) -> Result<u64, FormatError> {
    let mut zip = zip::ZipArchive::new(reader)
        .map_err(|_| bad(file, "not an XLSX workbook (not a zip archive)"))?;
    if zip.len() > MAX_ENTRIES {
        return Err(bad(
            file,
            format!(
                "workbook has {} parts (limit {MAX_ENTRIES}): refused as a possible zip bomb",
                zip.len()
            ),
        ));
    }
    let (mut total, mut shared_strings) = (0u64, 0u64);
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|_| bad(file, format!("workbook part {i} is unreadable")))?;
        let (size, packed) = (entry.size(), entry.compressed_size().max(1));
        total = total.saturating_add(size);
        if entry.name() == inline::SHARED_STRINGS {
            shared_strings = size;
        }
        if size > 1024 * 1024 && size / packed > MAX_RATIO {
            return Err(bad(file, format!("workbook part {i} expands {}x (limit {MAX_RATIO}x): refused as a possible zip bomb", size / packed)));
        }
    }
    if total > MAX_UNCOMPRESSED {
        return Err(bad(file, format!("workbook expands to {total} bytes (limit {MAX_UNCOMPRESSED}): refused as a possible zip bomb")));
    }
    Ok(shared_strings)
}

fn cell_text(d: &Data) -> Cow<'_, str> {
    match d {
        Data::Empty => Cow::Borrowed(""),
        Data::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}

fn column_name(mut col: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8_lossy(&s).into_owned()
}

fn short(s: &str) -> String {
    s.chars().take(160).collect()
}

/// Where the reader is, for an error raised (or a panic caught) mid-stream.
#[derive(Default)]
struct Position {
    /// Index of the sheet in the workbook's sheet list.
    sheet: StdCell<Option<usize>>,
    /// 0-based row of the last cell read or written.
    row: StdCell<Option<u32>>,
}

/// Redacts a workbook. `input` must be seekable (the archive is read three times: check, then
/// each sheet twice).
pub fn redact<R: Read + Seek, W: Write + Seek + Send>(
    redactor: &Redactor,
    input: R,
    output: W,
    file: &str,
    sink: &mut dyn Sink,
) -> Result<FileReport, FormatError> {
    redact_inlining_above(redactor, input, output, file, sink, inline::INLINE_ABOVE)
}

/// [`redact`], putting the shared strings inline when their table is larger than `above` bytes
/// (tests make it small).
fn redact_inlining_above<R: Read + Seek, W: Write + Seek + Send>(
    redactor: &Redactor,
    mut input: R,
    output: W,
    file: &str,
    sink: &mut dyn Sink,
    above: u64,
) -> Result<FileReport, FormatError> {
    let shared_strings = check_archive(&mut input, file)?;
    input.rewind().map_err(|e| FormatError::io(file, e))?;
    if shared_strings > above {
        let inlined = inline::inline_shared_strings(&mut input, file)?;
        return redact_checked(redactor, inlined, output, file, sink);
    }
    redact_checked(redactor, input, output, file, sink)
}

/// [`redact`] after the archive's check.
fn redact_checked<R: Read + Seek, W: Write + Seek + Send>(
    redactor: &Redactor,
    input: R,
    output: W,
    file: &str,
    sink: &mut dyn Sink,
) -> Result<FileReport, FormatError> {
    let at = Position::default();
    let mut names: Vec<String> = Vec::new();
    // calamine indexes shared strings unchecked, and rust_xlsxwriter unwraps the I/O of its
    // temporary files and of the copy into the output: a malformed workbook or a full disk must
    // be an error, not a crash.
    let result = catch_unwind(AssertUnwindSafe(|| {
        redact_book(redactor, input, output, file, sink, &at, &mut names)
    }));
    match result {
        Ok(result) => result,
        Err(_) => {
            let sheet = at.sheet.get().and_then(|i| names.get(i));
            let place = match (sheet, at.row.get()) {
                (Some(s), Some(r)) => format!("sheet {s:?} near row {}", u64::from(r) + 1),
                (Some(s), None) => format!("sheet {s:?}"),
                _ => "the workbook".to_string(),
            };
            Err(bad(
                file,
                format!("{place} could not be processed (malformed cell data, or a temporary or output file could not be written)"),
            ))
        }
    }
}

fn redact_book<R: Read + Seek, W: Write + Seek + Send>(
    redactor: &Redactor,
    input: R,
    output: W,
    file: &str,
    sink: &mut dyn Sink,
    at: &Position,
    names: &mut Vec<String>,
) -> Result<FileReport, FormatError> {
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
    let mut workbook = Workbook::new();
    *names = book.sheet_names();
    for (i, sheet) in names.iter().enumerate() {
        at.sheet.set(Some(i));
        at.row.set(None);
        redact_sheet(
            redactor,
            &mut book,
            &mut workbook,
            sheet,
            file,
            sink,
            &mut report,
            at,
        )?;
    }
    at.sheet.set(None);
    workbook
        .save_to_writer(output)
        .map_err(|e| bad(file, format!("writing the workbook: {e}")))?;
    Ok(report)
}

fn read_error(file: &str, sheet: &str, row: Option<u32>, e: &XlsxError) -> FormatError {
    let place = match row {
        Some(r) => format!("sheet {sheet:?} near row {}", u64::from(r) + 1),
        None => format!("sheet {sheet:?}"),
    };
    bad(file, format!("{place}: {}", short(&e.to_string())))
}

fn changed(file: &str, sheet: &str, row: u32) -> FormatError {
    bad(
        file,
        format!(
            "sheet {sheet:?}, row {}: the sheet read differently the second time (was the file changed while it was redacted?)",
            u64::from(row) + 1
        ),
    )
}

/// The extent of a sheet's non-empty cells (0-based, inclusive), as `worksheet_range` computes
/// it, and whether they come in strictly increasing row-major order.
struct Extent {
    first_row: u32,
    last_row: u32,
    first_col: u32,
    last_col: u32,
    ordered: bool,
}

/// First pass over a sheet: its extent, `None` when it has no non-empty cell or is not a
/// worksheet (a chart sheet), both released as an empty sheet.
fn scan<R: Read + Seek>(
    book: &mut Xlsx<R>,
    sheet: &str,
    file: &str,
    at: &Position,
) -> Result<Option<Extent>, FormatError> {
    let mut cells = match book.worksheet_cells_reader(sheet) {
        Ok(cells) => cells,
        Err(XlsxError::NotAWorksheet(_)) => return Ok(None),
        Err(e) => return Err(read_error(file, sheet, None, &e)),
    };
    let mut extent: Option<Extent> = None;
    let mut last: Option<(u32, u32)> = None;
    loop {
        let cell = match cells.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(e) => return Err(read_error(file, sheet, at.row.get(), &e)),
        };
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        let (r, c) = cell.get_position();
        at.row.set(Some(r));
        let ordered = last.is_none_or(|p| (r, c) > p);
        last = Some((r, c));
        match &mut extent {
            None => {
                extent = Some(Extent {
                    first_row: r,
                    last_row: r,
                    first_col: c,
                    last_col: c,
                    ordered: true,
                })
            }
            Some(x) => {
                x.first_row = x.first_row.min(r);
                x.last_row = x.last_row.max(r);
                x.first_col = x.first_col.min(c);
                x.last_col = x.last_col.max(c);
                x.ordered &= ordered;
            }
        }
    }
    Ok(extent)
}

#[allow(clippy::too_many_arguments)]
fn redact_sheet<R: Read + Seek>(
    redactor: &Redactor,
    book: &mut Xlsx<R>,
    workbook: &mut Workbook,
    sheet: &str,
    file: &str,
    sink: &mut dyn Sink,
    report: &mut FileReport,
    at: &Position,
) -> Result<(), FormatError> {
    let extent = scan(book, sheet, file, at)?;
    let cells = extent.as_ref().map_or(0, |x| {
        u64::from(x.last_row - x.first_row + 1) * u64::from(x.last_col - x.first_col + 1)
    });
    let worksheet = if cells > IN_MEMORY_CELLS {
        workbook.add_worksheet_with_constant_memory()
    } else {
        workbook.add_worksheet()
    };
    worksheet
        .set_name(sheet)
        .map_err(|e| bad(file, format!("sheet name: {e}")))?;
    let Some(extent) = extent else {
        return Ok(());
    };
    let mut out = SheetWriter {
        redactor,
        file,
        sheet,
        first_row: extent.first_row,
        col_names: (extent.first_col..=extent.last_col)
            .map(|c| column_name(c as usize))
            .collect(),
        header: None,
        classes: None,
        pending: Vec::new(),
        pending_bytes: 0,
        written: 0,
        worksheet,
        sink,
        report,
        at,
    };
    if !extent.ordered {
        // Out of order: only the whole range can place every cell (calamine sorts them).
        let range = book
            .worksheet_range(sheet)
            .map_err(|e| read_error(file, sheet, None, &e))?;
        for row in range.rows() {
            out.push(row.to_vec())?;
        }
        return out.finish();
    }
    let width = (extent.last_col - extent.first_col + 1) as usize;
    let mut cells = book
        .worksheet_cells_reader(sheet)
        .map_err(|e| read_error(file, sheet, None, &e))?;
    let mut row_no = extent.first_row;
    let mut row = vec![Data::Empty; width];
    let mut last: Option<(u32, u32)> = None;
    loop {
        let cell = match cells.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(e) => return Err(read_error(file, sheet, Some(row_no), &e)),
        };
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        let (r, c) = cell.get_position();
        if last.is_some_and(|p| (r, c) <= p)
            || r > extent.last_row
            || c < extent.first_col
            || c > extent.last_col
        {
            return Err(changed(file, sheet, r));
        }
        last = Some((r, c));
        at.row.set(Some(r));
        while r > row_no {
            out.push(std::mem::replace(&mut row, vec![Data::Empty; width]))?;
            row_no += 1;
        }
        let value = Data::from(cell.get_value().clone());
        if let Some(slot) = row.get_mut((c - extent.first_col) as usize) {
            *slot = value;
        }
    }
    if row_no != extent.last_row {
        return Err(changed(file, sheet, row_no));
    }
    out.push(row)?;
    out.finish()
}

/// The columns of a sheet, decided on its header and first rows.
struct Classes {
    columns: Vec<ColumnClass>,
    roles: Vec<FieldRole>,
    keep: Vec<bool>,
}

/// Receives a sheet's rows in order (the first is the header) and writes them redacted.
struct SheetWriter<'a> {
    redactor: &'a Redactor,
    file: &'a str,
    sheet: &'a str,
    first_row: u32,
    /// Column letters of each column of the sheet's extent.
    col_names: Vec<String>,
    header: Option<Vec<String>>,
    classes: Option<Classes>,
    /// Body rows read, not yet written.
    pending: Vec<Vec<Data>>,
    pending_bytes: usize,
    /// Body rows written.
    written: usize,
    worksheet: &'a mut Worksheet,
    sink: &'a mut dyn Sink,
    report: &'a mut FileReport,
    at: &'a Position,
}

impl SheetWriter<'_> {
    fn push(&mut self, row: Vec<Data>) -> Result<(), FormatError> {
        if self.header.is_none() {
            self.header = Some(row.iter().map(|d| cell_text(d).into_owned()).collect());
            return Ok(());
        }
        self.pending_bytes += row_bytes(&row);
        self.pending.push(row);
        if self.classes.is_none() {
            if self.pending.len() >= SAMPLE_ROWS {
                self.classify()?;
            }
            return Ok(());
        }
        if self.pending.len() >= batch_len(128) || self.pending_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), FormatError> {
        if self.header.is_none() {
            return Ok(());
        }
        if self.classes.is_none() {
            self.classify()?;
        }
        self.flush()?;
        if let Some(classes) = self.classes.take() {
            self.report.columns.extend(classes.columns);
        }
        Ok(())
    }

    /// Classifies the columns on the header and the rows read so far, and writes the header.
    fn classify(&mut self) -> Result<(), FormatError> {
        let redactor = self.redactor;
        let headers = self.header.as_deref().unwrap_or_default();
        let mut columns = Vec::with_capacity(headers.len());
        for (i, h) in headers.iter().enumerate() {
            let texts: Vec<Cow<'_, str>> = self
                .pending
                .iter()
                .take(SAMPLE_ROWS)
                .filter_map(|r| r.get(i).map(cell_text))
                .collect();
            let sample: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
            let mut class = classify_column(redactor.chain(), h, &sample);
            class.name = format!("{}!{h}", self.sheet);
            columns.push(class);
        }
        let roles = columns
            .iter()
            .map(|c| match c.role {
                ColumnRole::Entity(k) => FieldRole::Whole(k),
                other => FieldRole::Scan(hint_for(other)),
            })
            .collect();
        let keep: Vec<bool> = columns.iter().map(|c| !matches!(c.role, ColumnRole::Entity(k) if redactor.policy().rule(k).action == Action::DropColumn)).collect();
        let mut out_col = 0u16;
        for (h, _) in headers.iter().zip(&keep).filter(|(_, k)| **k) {
            let written = self.worksheet.write_string(0, out_col, h).map(|_| ());
            if let Err(e) = written {
                return Err(write_error(self.file, self.sheet, 0, &e));
            }
            out_col = out_col.saturating_add(1);
        }
        self.classes = Some(Classes {
            columns,
            roles,
            keep,
        });
        Ok(())
    }

    /// Redacts the pending rows in parallel, then writes them and their log lines in order.
    fn flush(&mut self) -> Result<(), FormatError> {
        let Some(classes) = &self.classes else {
            return Ok(());
        };
        let (redactor, file, sheet) = (self.redactor, self.file, self.sheet);
        let (col_names, first_row, first_body) = (&self.col_names, self.first_row, self.written);
        // Per row, the text of each kept cell that was redacted (`None`: written as read).
        type Redacted = Vec<Vec<Option<String>>>;
        let done: Vec<(LogBatch, Redacted)> = self
            .pending
            .par_chunks(ROWS_PER_TASK)
            .enumerate()
            .map(|(k, rows)| {
                let mut log = LogBatch::default();
                let mut texts_out = Vec::with_capacity(rows.len());
                for (i, row) in rows.iter().enumerate() {
                    let body = first_body + k * ROWS_PER_TASK + i;
                    let texts: Vec<Cow<'_, str>> = row.iter().map(cell_text).collect();
                    let fields: Vec<(&str, FieldRole)> = texts
                        .iter()
                        .zip(&classes.roles)
                        .map(|(v, r)| (v.as_ref(), *r))
                        .collect();
                    let redacted = redactor.redact_record(&fields);
                    let mut kept = Vec::with_capacity(redacted.len());
                    for (c, (text, field)) in texts.iter().zip(&redacted).enumerate() {
                        if !field.applied.is_empty() || !field.review.is_empty() {
                            // Cells of a dropped column are logged too: the log says what was
                            // withheld.
                            let reference = format!(
                                "{}{}",
                                col_names.get(c).map_or("", String::as_str),
                                first_row as usize + body + 2
                            );
                            let location = |_pos: usize| Location::Sheet {
                                sheet,
                                cell: &reference,
                            };
                            log.field(redactor, file, text, field, &location);
                        }
                        if classes.keep.get(c).copied().unwrap_or(true) {
                            kept.push(
                                (!field.applied.is_empty())
                                    .then(|| field.text.clone().into_owned()),
                            );
                        }
                    }
                    redactor.recycle(redacted);
                    texts_out.push(kept);
                }
                (log, texts_out)
            })
            .collect();
        let mut rows = self.pending.iter();
        for (mut log, redacted) in done {
            log.flush(file, self.sink, self.report)?;
            for kept in redacted {
                let Some(row) = rows.next() else { break };
                let out_row = u32::try_from(self.written + 1).unwrap_or(u32::MAX);
                self.at.row.set(Some(first_row.saturating_add(out_row)));
                let cells = row
                    .iter()
                    .enumerate()
                    .filter(|(c, _)| classes.keep.get(*c).copied().unwrap_or(true))
                    .map(|(_, cell)| cell);
                let mut out_col = 0u16;
                for (cell, text) in cells.zip(kept) {
                    let ws = &mut *self.worksheet;
                    let written = match text {
                        Some(text) => ws.write_string(out_row, out_col, text).map(|_| ()),
                        None => match cell {
                            Data::Empty => Ok(()),
                            Data::Int(i) => {
                                ws.write_number(out_row, out_col, *i as f64).map(|_| ())
                            }
                            Data::Float(f) => ws.write_number(out_row, out_col, *f).map(|_| ()),
                            Data::Bool(b) => ws.write_boolean(out_row, out_col, *b).map(|_| ()),
                            Data::String(s) => ws.write_string(out_row, out_col, s).map(|_| ()),
                            other => ws
                                .write_string(out_row, out_col, other.to_string())
                                .map(|_| ()),
                        },
                    };
                    written.map_err(|e| write_error(file, sheet, out_row, &e))?;
                    out_col = out_col.saturating_add(1);
                }
                self.written += 1;
                self.report.records += 1;
            }
        }
        self.pending.clear();
        self.pending_bytes = 0;
        Ok(())
    }
}

fn write_error(
    file: &str,
    sheet: &str,
    out_row: u32,
    e: &rust_xlsxwriter::XlsxError,
) -> FormatError {
    bad(
        file,
        format!(
            "sheet {sheet:?}, output row {}: {e}",
            u64::from(out_row) + 1
        ),
    )
}

/// What a row costs in memory, roughly: its cells and their text.
fn row_bytes(row: &[Data]) -> usize {
    std::mem::size_of_val(row)
        + row
            .iter()
            .map(|d| match d {
                Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.len(),
                _ => 0,
            })
            .sum::<usize>()
}

mod inline;
#[cfg(test)]
mod tests;
