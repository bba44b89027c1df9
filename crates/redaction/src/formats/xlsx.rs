//! XLSX workbooks: read with calamine after a zip-bomb check, every sheet classified and redacted
//! like a CSV table (first row = header), written with rust_xlsxwriter. Unredacted numbers and
//! booleans keep their type; dates and redacted cells are written as text.

use std::io::{Read, Seek, Write};

use calamine::{Data, Reader, Xlsx};
use rayon::prelude::*;

use super::table::SAMPLE_ROWS;
use super::{report_field, FileReport, FormatError, Sink};
use crate::columns::{classify_column, hint_for, ColumnRole};
use crate::log::Location;
use crate::policy::Action;
use crate::redactor::{FieldRole, Redactor};

/// Limits on the archive, checked before any part is decompressed.
pub const MAX_ENTRIES: usize = 10_000;
/// Total declared uncompressed size.
pub const MAX_UNCOMPRESSED: u64 = 2 * 1024 * 1024 * 1024;
/// Largest compression ratio for entries over 1 MiB.
pub const MAX_RATIO: u64 = 200;

fn bad(file: &str, message: impl Into<String>) -> FormatError {
    FormatError::Unsupported {
        file: file.to_string(),
        message: message.into(),
    }
}

/// Rejects archives whose declared sizes look like a zip bomb.
pub fn check_archive<R: Read + Seek>(reader: R, file: &str) -> Result<(), FormatError> {
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
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|_| bad(file, format!("workbook part {i} is unreadable")))?;
        let (size, packed) = (entry.size(), entry.compressed_size().max(1));
        total = total.saturating_add(size);
        if size > 1024 * 1024 && size / packed > MAX_RATIO {
            return Err(bad(file, format!("workbook part {i} expands {}x (limit {MAX_RATIO}x): refused as a possible zip bomb", size / packed)));
        }
    }
    if total > MAX_UNCOMPRESSED {
        return Err(bad(file, format!("workbook expands to {total} bytes (limit {MAX_UNCOMPRESSED}): refused as a possible zip bomb")));
    }
    Ok(())
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        other => other.to_string(),
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

/// Redacts a workbook. `input` must be seekable (the archive is read twice: check, then parse).
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
        for (r, ((row, original), fields)) in body.iter().zip(&texts).zip(&redacted).enumerate() {
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
                        Data::Float(f) => worksheet.write_number(out_row, out_col, *f).map(|_| ()),
                        Data::Bool(b) => worksheet.write_boolean(out_row, out_col, *b).map(|_| ()),
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

fn short(s: &str) -> String {
    s.chars().take(160).collect()
}
