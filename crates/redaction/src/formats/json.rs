//! JSON and JSON Lines, nested: keys classify their values like column headers (a value under
//! `"ssn"` is an SSN whole; under `"narrative"` it is scanned); each JSON Lines line, or each
//! element of a top-level JSON array, is one record for propagation. Key order in the output is
//! sorted (serde_json without `preserve_order`); values and structure are unchanged.

use std::io::{BufRead, Read, Write};

use rayon::prelude::*;
use serde_json::Value;

use super::text::read_line_limited;
use super::{batch_len, report_field, FileReport, FormatError, Sink, BATCH_BYTES, MAX_LINE_BYTES};
use crate::columns::{classify_header, hint_for, ColumnRole};
use crate::log::Location;
use crate::redactor::{FieldRole, RedactedField, Redactor};

/// Largest whole JSON document read (JSON Lines has no limit but the per-line one).
pub const MAX_JSON_BYTES: u64 = 1024 * 1024 * 1024;

/// A leaf's pointer, original text and redaction.
type LeafResult = (String, String, RedactedField);

/// One string (or number) leaf with its JSON Pointer and role.
struct Leaf {
    pointer: String,
    text: String,
    role: FieldRole,
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn collect(
    value: &Value,
    pointer: &mut String,
    inherited: Option<ColumnRole>,
    out: &mut Vec<Leaf>,
) {
    let role_of = |r: Option<ColumnRole>| match r {
        Some(ColumnRole::Entity(kind)) => FieldRole::Whole(kind),
        Some(other) => FieldRole::Scan(hint_for(other)),
        None => FieldRole::Scan(Default::default()),
    };
    match value {
        Value::String(s) => out.push(Leaf {
            pointer: pointer.clone(),
            text: s.clone(),
            role: role_of(inherited),
        }),
        Value::Number(n) => out.push(Leaf {
            pointer: pointer.clone(),
            text: n.to_string(),
            role: role_of(inherited),
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                collect(item, pointer, inherited, out);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let own = classify_header(k);
                // A key that names a kind wins; otherwise the parent's kind carries down
                // ("address": {"street": ..}).
                let role = match (own, inherited) {
                    (ColumnRole::Entity(_), _) => Some(own),
                    (_, Some(ColumnRole::Entity(_))) => inherited,
                    _ => Some(own),
                };
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_pointer(k));
                collect(v, pointer, role, out);
                pointer.truncate(len);
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// Redacts one JSON value (one record) in place; returns the leaves and their redactions.
fn redact_value(redactor: &Redactor, value: &mut Value) -> Vec<LeafResult> {
    let mut leaves = Vec::new();
    collect(value, &mut String::new(), None, &mut leaves);
    let fields: Vec<(&str, FieldRole)> = leaves.iter().map(|l| (l.text.as_str(), l.role)).collect();
    let redacted = redactor.redact_record(&fields);
    let mut out = Vec::with_capacity(leaves.len());
    for (leaf, field) in leaves.into_iter().zip(redacted) {
        if !field.applied.is_empty() {
            if let Some(slot) = value.pointer_mut(&leaf.pointer) {
                *slot = Value::String(field.text.clone());
            }
        }
        out.push((leaf.pointer, leaf.text, field));
    }
    out
}

fn json_error(file: &str, line: u64, e: &serde_json::Error) -> FormatError {
    let category = match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "data error",
        serde_json::error::Category::Eof => "unexpected end of input",
    };
    FormatError::Json {
        file: file.to_string(),
        line: line + e.line() as u64 - 1,
        column: e.column() as u64,
        category,
    }
}

/// Redacts a JSON Lines stream.
pub fn redact_lines<R: BufRead, W: Write>(
    redactor: &Redactor,
    mut input: R,
    mut output: W,
    file: &str,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64),
) -> Result<FileReport, FormatError> {
    let mut report = FileReport {
        file: file.to_string(),
        format: "jsonl".into(),
        ..Default::default()
    };
    let mut line_no: u64 = 0;
    let mut eof = false;
    while !eof {
        let mut batch: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut batch_bytes = 0usize;
        while batch.len() < batch_len(256) && batch_bytes < BATCH_BYTES {
            let mut buf = Vec::new();
            let n =
                read_line_limited(&mut input, &mut buf).map_err(|e| FormatError::io(file, e))?;
            if n == 0 {
                eof = true;
                break;
            }
            line_no += 1;
            if n > MAX_LINE_BYTES {
                return Err(FormatError::LineTooLong {
                    file: file.to_string(),
                    line: line_no,
                    max: MAX_LINE_BYTES,
                });
            }
            report.bytes += n as u64;
            batch_bytes += n;
            batch.push((line_no, buf));
        }
        let parsed: Vec<(u64, Option<Value>)> = batch
            .par_iter()
            .map(|(line, bytes)| {
                let text = std::str::from_utf8(bytes).map_err(|e| FormatError::InvalidUtf8 {
                    file: file.to_string(),
                    line: *line,
                    offset: e.valid_up_to() as u64,
                })?;
                let text = text.trim_end_matches(['\n', '\r']);
                if text.trim().is_empty() {
                    return Ok((*line, None));
                }
                serde_json::from_str::<Value>(text)
                    .map(|v| (*line, Some(v)))
                    .map_err(|e| json_error(file, *line, &e))
            })
            .collect::<Result<_, _>>()?;
        let redacted: Vec<(u64, Option<Value>, Vec<LeafResult>)> = parsed
            .into_par_iter()
            .map(|(line, v)| match v {
                Some(mut value) => {
                    let fields = redact_value(redactor, &mut value);
                    (line, Some(value), fields)
                }
                None => (line, None, Vec::new()),
            })
            .collect();
        for (line, value, fields) in redacted {
            for (pointer, original, field) in &fields {
                let location = |_pos: usize| Location::Json {
                    line,
                    pointer: pointer.clone(),
                };
                report_field(
                    redactor,
                    file,
                    original,
                    field,
                    &location,
                    sink,
                    &mut report,
                )?;
            }
            if let Some(v) = value {
                serde_json::to_writer(&mut output, &v)
                    .map_err(|e| FormatError::io(file, e.into()))?;
                report.records += 1;
            }
            output
                .write_all(b"\n")
                .map_err(|e| FormatError::io(file, e))?;
        }
        progress(report.bytes);
    }
    output.flush().map_err(|e| FormatError::io(file, e))?;
    Ok(report)
}

/// Redacts a whole JSON document (read into memory, up to [`MAX_JSON_BYTES`]). A top-level array
/// is a list of records; anything else is one record.
pub fn redact_document<R: Read, W: Write>(
    redactor: &Redactor,
    input: R,
    mut output: W,
    file: &str,
    sink: &mut dyn Sink,
) -> Result<FileReport, FormatError> {
    let bytes = super::read_bounded(input, MAX_JSON_BYTES, file, || {
        format!("JSON document larger than {MAX_JSON_BYTES} bytes; convert it to JSON Lines (one record per line) for streaming")
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = 1 + memchr::memchr_iter(b'\n', &bytes[..e.valid_up_to()]).count() as u64;
        FormatError::InvalidUtf8 {
            file: file.to_string(),
            line,
            offset: e.valid_up_to() as u64,
        }
    })?;
    let mut doc: Value = serde_json::from_str(text).map_err(|e| json_error(file, 1, &e))?;
    let mut report = FileReport {
        file: file.to_string(),
        format: "json".into(),
        bytes: bytes.len() as u64,
        ..Default::default()
    };
    let results: Vec<(String, Vec<LeafResult>)> = match &mut doc {
        Value::Array(items) => items
            .par_iter_mut()
            .enumerate()
            .map(|(i, item)| (format!("/{i}"), redact_value(redactor, item)))
            .collect(),
        other => vec![(String::new(), redact_value(redactor, other))],
    };
    for (prefix, fields) in &results {
        report.records += 1;
        for (pointer, original, field) in fields {
            let location = |_pos: usize| Location::Json {
                line: 1,
                pointer: format!("{prefix}{pointer}"),
            };
            report_field(
                redactor,
                file,
                original,
                field,
                &location,
                sink,
                &mut report,
            )?;
        }
    }
    serde_json::to_writer_pretty(&mut output, &doc).map_err(|e| FormatError::io(file, e.into()))?;
    output
        .write_all(b"\n")
        .map_err(|e| FormatError::io(file, e))?;
    output.flush().map_err(|e| FormatError::io(file, e))?;
    Ok(report)
}

/// The role of the leaf at a JSON pointer, by the same rule as the writer: the nearest key that
/// names a kind wins, otherwise the leaf's own key decides.
pub fn role_for_pointer(pointer: &str) -> FieldRole {
    let mut inherited: Option<ColumnRole> = None;
    for part in pointer.trim_start_matches('/').split('/') {
        if part.parse::<usize>().is_ok() {
            continue;
        }
        let own = classify_header(part);
        inherited = match (own, inherited) {
            (ColumnRole::Entity(_), _) => Some(own),
            (_, Some(ColumnRole::Entity(_))) => inherited,
            _ => Some(own),
        };
    }
    match inherited {
        Some(ColumnRole::Entity(kind)) => FieldRole::Whole(kind),
        Some(other) => FieldRole::Scan(hint_for(other)),
        None => FieldRole::Scan(Default::default()),
    }
}
