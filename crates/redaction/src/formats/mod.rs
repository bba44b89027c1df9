//! File formats: each reads a stream, redacts it record by record (batches in parallel over all
//! cores, output in input order), writes the release stream, and reports log entries to a sink.
//! Memory is bounded by the batch size for text, CSV/TSV and JSON Lines.

pub mod eml;
pub mod json;
pub mod pdf;
pub mod table;
pub mod text;
pub mod xlsx;

use std::collections::BTreeMap;
use std::io::Read;

use serde::Serialize;

use crate::columns::ColumnClass;
use crate::entity::EntityKind;
use crate::log::{Location, LogEntry, ReviewEntry};
use crate::redactor::{RedactedField, Redactor};

/// Longest line (text, JSON Lines) or record (CSV) accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// Bad input or failed I/O, with the location. Never contains personal data: messages from
/// parsers are reduced to their position and category.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Reading or writing failed.
    #[error("{file}: I/O error: {source}")]
    Io {
        /// File name.
        file: String,
        /// The error.
        source: std::io::Error,
    },
    /// Bytes that are not UTF-8.
    #[error("{file}: invalid UTF-8 at line {line}, byte offset {offset}; convert the file to UTF-8 (e.g. iconv -f WINDOWS-1252 -t UTF-8)")]
    InvalidUtf8 {
        /// File name.
        file: String,
        /// 1-based line.
        line: u64,
        /// Byte offset in the file.
        offset: u64,
    },
    /// A line or record longer than [`MAX_LINE_BYTES`].
    #[error("{file}: line {line} is longer than {max} bytes; split the file or check that it is really text")]
    LineTooLong {
        /// File name.
        file: String,
        /// 1-based line.
        line: u64,
        /// The limit.
        max: usize,
    },
    /// Malformed CSV/TSV.
    #[error("{file}: malformed CSV at line {line}: {message}")]
    Csv {
        /// File name.
        file: String,
        /// 1-based line.
        line: u64,
        /// What is wrong (no field content).
        message: String,
    },
    /// Malformed JSON.
    #[error("{file}: malformed JSON at line {line}, column {column}: {category}")]
    Json {
        /// File name.
        file: String,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// Syntax, EOF or data.
        category: &'static str,
    },
    /// A format-specific limit or structure problem (zip bombs, encrypted PDFs, ...).
    #[error("{file}: {message}")]
    Unsupported {
        /// File name.
        file: String,
        /// What is wrong.
        message: String,
    },
}

impl FormatError {
    pub(crate) fn io(file: &str, source: std::io::Error) -> Self {
        FormatError::Io {
            file: file.to_string(),
            source,
        }
    }
}

/// Receives log and review entries in input order.
pub trait Sink {
    /// One applied redaction.
    fn log(&mut self, entry: LogEntry) -> std::io::Result<()>;
    /// One uncertain candidate left in place.
    fn review(&mut self, entry: ReviewEntry) -> std::io::Result<()>;
}

/// A sink that keeps everything in memory (tests, small inputs).
#[derive(Default)]
pub struct MemorySink {
    /// Log entries.
    pub log: Vec<LogEntry>,
    /// Review entries.
    pub review: Vec<ReviewEntry>,
}

impl Sink for MemorySink {
    fn log(&mut self, entry: LogEntry) -> std::io::Result<()> {
        self.log.push(entry);
        Ok(())
    }
    fn review(&mut self, entry: ReviewEntry) -> std::io::Result<()> {
        self.review.push(entry);
        Ok(())
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileReport {
    /// Input file name.
    pub file: String,
    /// Format used.
    pub format: String,
    /// Bytes read.
    pub bytes: u64,
    /// Records (lines, rows, JSON values) processed.
    pub records: u64,
    /// Redactions by kind.
    pub redactions: BTreeMap<EntityKind, u64>,
    /// Candidates left for review.
    pub review_candidates: u64,
    /// Redactions flagged for counsel.
    pub counsel_flags: u64,
    /// Column classification (tables).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnClass>,
}

/// Sends a redacted field's entries to the sink and counts them.
pub(crate) fn report_field(
    redactor: &Redactor,
    file: &str,
    original: &str,
    field: &RedactedField,
    location: &dyn Fn(usize) -> Location,
    sink: &mut dyn Sink,
    report: &mut FileReport,
) -> Result<(), FormatError> {
    let cite = |e: &str| redactor.policy().cite(e);
    for a in &field.applied {
        *report.redactions.entry(a.kind).or_insert(0) += 1;
        report.counsel_flags += u64::from(a.counsel);
        sink.log(LogEntry::new(file, location(a.start), a, &cite))
            .map_err(|e| FormatError::io(file, e))?;
    }
    for f in &field.review {
        report.review_candidates += 1;
        sink.review(ReviewEntry {
            file: file.to_string(),
            location: location(f.start),
            span: [f.start, f.end],
            kind: f.kind,
            detector: f.detector,
            confidence: f.confidence,
            candidate: original[f.start..f.end].to_string(),
        })
        .map_err(|e| FormatError::io(file, e))?;
    }
    Ok(())
}

/// A batch also closes once it holds this many bytes, so a few huge lines cannot multiply
/// memory by the batch length.
pub(crate) const BATCH_BYTES: usize = 32 * 1024 * 1024;

/// How many records a parallel batch holds per worker thread.
pub(crate) fn batch_len(per_thread: usize) -> usize {
    rayon::current_num_threads().max(1) * per_thread
}

/// Reads a whole input that must fit in memory, refusing it past `max` bytes with
/// `too_large` as the reason (never a partial read presented as the document).
pub(crate) fn read_bounded<R: Read>(
    input: R,
    max: u64,
    file: &str,
    too_large: impl FnOnce() -> String,
) -> Result<Vec<u8>, FormatError> {
    let mut bytes = Vec::new();
    input
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FormatError::io(file, e))?;
    if bytes.len() as u64 > max {
        return Err(FormatError::Unsupported {
            file: file.to_string(),
            message: too_large(),
        });
    }
    Ok(bytes)
}
