//! JSON and JSON Lines, nested: keys classify their values like column headers (a value under
//! `"ssn"` is an SSN whole; under `"narrative"` it is scanned); each JSON Lines line, or each
//! element of a top-level JSON array, is one record for propagation. Key order in the output is
//! sorted, however serde_json was built (see `sort_keys`); values and structure are unchanged.

use std::borrow::Cow;
use std::io::{BufRead, Read, Write};
use std::ops::Range;

use rayon::prelude::*;
use serde_json::Value;

use super::text::read_line_limited;
use super::{batch_len, FileReport, FormatError, LogBatch, Sink, BATCH_BYTES, MAX_LINE_BYTES};
use crate::columns::{classify_header, classify_header_cached, hint_for, ColumnRole};
use crate::log::Location;
use crate::redactor::{FieldRole, Redactor};

/// Largest whole JSON document read (JSON Lines has no limit but the per-line one).
pub const MAX_JSON_BYTES: u64 = 1024 * 1024 * 1024;

/// The string (and number) leaves of one record, in document order: their JSON Pointers (one
/// buffer, ranges into it), texts (borrowed from the parsed value) and roles.
#[derive(Default)]
struct Leaves<'v> {
    pointers: String,
    items: Vec<(Range<usize>, Cow<'v, str>, FieldRole)>,
}

fn push_escaped_key(pointer: &mut String, key: &str) {
    pointer.push('/');
    if key.contains(['~', '/']) {
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
    } else {
        pointer.push_str(key);
    }
}

/// Appends the decimal digits of `i` (no string allocated per array element).
fn push_index(pointer: &mut String, i: usize) {
    let mut buf = [0u8; 20];
    let mut n = i;
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &buf[at..] {
        pointer.push(char::from(d));
    }
}

fn role_of(r: Option<ColumnRole>) -> FieldRole {
    match r {
        Some(ColumnRole::Entity(kind)) => FieldRole::Whole(kind),
        Some(other) => FieldRole::Scan(hint_for(other)),
        None => FieldRole::Scan(Default::default()),
    }
}

fn collect<'v>(
    value: &'v Value,
    pointer: &mut String,
    inherited: Option<ColumnRole>,
    out: &mut Leaves<'v>,
) {
    let leaf = |out: &mut Leaves<'v>, text: Cow<'v, str>| {
        let from = out.pointers.len();
        out.pointers.push_str(pointer);
        out.items
            .push((from..out.pointers.len(), text, role_of(inherited)));
    };
    match value {
        Value::String(s) => leaf(out, Cow::Borrowed(s.as_str())),
        Value::Number(n) => leaf(out, Cow::Owned(n.to_string())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                push_index(pointer, i);
                collect(item, pointer, inherited, out);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let own = classify_header_cached(k);
                // A key that names a kind wins; otherwise the parent's kind carries down
                // ("address": {"street": ..}).
                let role = match (own, inherited) {
                    (ColumnRole::Entity(_), _) => Some(own),
                    (_, Some(ColumnRole::Entity(_))) => inherited,
                    _ => Some(own),
                };
                let len = pointer.len();
                push_escaped_key(pointer, k);
                collect(v, pointer, role, out);
                pointer.truncate(len);
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// Puts the redacted texts back, visiting leaves in the order `collect` did.
/// Sorts object keys if serde_json keeps them in input order. It sorts them itself unless a
/// crate built in the same Cargo run turns on its `preserve_order` feature (the bench
/// crate's Cedar does, under `cargo build --workspace`). Sorting here keeps the release and
/// its log the same however the binary was built; the check costs one small map, once.
fn sort_keys(value: &mut Value) {
    static KEYS_IN_INPUT_ORDER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let in_input_order = *KEYS_IN_INPUT_ORDER.get_or_init(|| {
        let mut probe = serde_json::Map::new();
        probe.insert("b".into(), Value::Null);
        probe.insert("a".into(), Value::Null);
        probe.keys().next().is_some_and(|k| k == "b")
    });
    if in_input_order {
        value.sort_all_objects();
    }
}

fn replace(value: &mut Value, texts: &mut impl Iterator<Item = Option<String>>) {
    match value {
        Value::String(_) | Value::Number(_) => {
            if let Some(Some(t)) = texts.next() {
                *value = Value::String(t);
            }
        }
        Value::Array(items) => {
            for item in items {
                replace(item, texts);
            }
        }
        Value::Object(map) => {
            for (_, v) in map.iter_mut() {
                replace(v, texts);
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// Redacts one JSON value (one record) in place, adding its log lines to `log`; `prefix` is the
/// record's own pointer inside the document ("" for a JSON Lines line).
fn redact_value(
    redactor: &Redactor,
    value: &mut Value,
    file: &str,
    line: u64,
    prefix: &str,
    log: &mut LogBatch,
) {
    // Records of one file are alike: sized from the last record on this thread, the buffers
    // do not grow leaf by leaf.
    thread_local! {
        static SIZES: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
    }
    let (leaf_hint, pointer_hint) = SIZES.with(|s| s.get());
    let texts: Vec<Option<String>> = {
        let mut leaves = Leaves {
            pointers: String::with_capacity(pointer_hint),
            items: Vec::with_capacity(leaf_hint),
        };
        let mut pointer = String::with_capacity(64);
        pointer.push_str(prefix);
        collect(value, &mut pointer, None, &mut leaves);
        SIZES.with(|s| s.set((leaves.items.len(), leaves.pointers.len())));
        let fields: Vec<(&str, FieldRole)> = leaves
            .items
            .iter()
            .map(|(_, text, role)| (text.as_ref(), *role))
            .collect();
        let redacted = redactor.redact_record(&fields);
        for ((range, original, _), field) in leaves.items.iter().zip(&redacted) {
            let pointer = &leaves.pointers[range.clone()];
            let location = |_pos: usize| Location::Json { line, pointer };
            log.field(redactor, file, original, field, &location);
        }
        redacted
            .into_iter()
            .map(|f| (!f.applied.is_empty()).then(|| f.text.into_owned()))
            .collect()
    };
    if texts.iter().any(Option::is_some) {
        replace(value, &mut texts.into_iter());
    }
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

/// JSON Lines lines redacted together by one task.
const LINES_PER_TASK: usize = 32;

/// Redacts one JSON Lines line into `out` (with its newline) and `log`; true when it held a
/// record (blank lines are kept blank).
fn redact_line(
    redactor: &Redactor,
    file: &str,
    line: u64,
    bytes: &[u8],
    out: &mut Vec<u8>,
    log: &mut LogBatch,
) -> Result<bool, FormatError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FormatError::InvalidUtf8 {
        file: file.to_string(),
        line,
        offset: e.valid_up_to() as u64,
    })?;
    let text = text.trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        out.push(b'\n');
        return Ok(false);
    }
    let mut value: Value = serde_json::from_str(text).map_err(|e| json_error(file, line, &e))?;
    sort_keys(&mut value);
    redact_value(redactor, &mut value, file, line, "", log);
    serde_json::to_writer(&mut *out, &value).map_err(|e| FormatError::io(file, e.into()))?;
    out.push(b'\n');
    Ok(true)
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
        // Lines are parsed, redacted, serialised and logged in runs, in parallel (one output
        // buffer and one log batch per run); the runs are written in order.
        let done: Vec<(Vec<u8>, LogBatch, u64, Option<FormatError>)> = batch
            .par_chunks(LINES_PER_TASK)
            .map(|lines| {
                let mut out = Vec::with_capacity(lines.iter().map(|(_, b)| b.len() + 64).sum());
                let mut log = LogBatch::default();
                let mut records = 0;
                for (line, bytes) in lines {
                    match redact_line(redactor, file, *line, bytes, &mut out, &mut log) {
                        Ok(record) => records += u64::from(record),
                        // What came before the bad line is kept; nothing after it is done.
                        Err(e) => return (out, log, records, Some(e)),
                    }
                }
                (out, log, records, None)
            })
            .collect();
        for (out, mut log, records, error) in done {
            log.flush(file, sink, &mut report)?;
            output
                .write_all(&out)
                .map_err(|e| FormatError::io(file, e))?;
            report.records += records;
            if let Some(e) = error {
                return Err(e);
            }
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
    sort_keys(&mut doc);
    let mut report = FileReport {
        file: file.to_string(),
        format: "json".into(),
        bytes: bytes.len() as u64,
        ..Default::default()
    };
    let logs: Vec<LogBatch> = match &mut doc {
        Value::Array(items) => items
            .par_iter_mut()
            .enumerate()
            .map(|(i, item)| {
                let mut log = LogBatch::default();
                redact_value(redactor, item, file, 1, &format!("/{i}"), &mut log);
                log
            })
            .collect(),
        other => {
            let mut log = LogBatch::default();
            redact_value(redactor, other, file, 1, "", &mut log);
            vec![log]
        }
    };
    for mut log in logs {
        report.records += 1;
        log.flush(file, sink, &mut report)?;
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
