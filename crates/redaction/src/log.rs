//! The redaction log: one JSON line per redaction (where, what kind, which exemption, which
//! detector, how sure), fit to attach to the FOIA response. It never holds an original value:
//! entries are built from `Applied` records, which carry offsets and kinds only.

use serde::Serialize;

use crate::entity::EntityKind;
use crate::redactor::Applied;

/// Where in a file a field is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Location {
    /// A text document: 1-based line of the redaction's start.
    Line {
        /// 1-based line number.
        line: u64,
    },
    /// A table cell: 1-based data row (header excluded) and column header.
    Cell {
        /// 1-based data row.
        row: u64,
        /// Column header.
        column: String,
    },
    /// A JSON value: 1-based line (JSON Lines; 1 for JSON) and a JSON Pointer (RFC 6901).
    Json {
        /// 1-based line.
        line: u64,
        /// JSON Pointer to the string.
        pointer: String,
    },
    /// A spreadsheet cell.
    Sheet {
        /// Sheet name.
        sheet: String,
        /// Cell reference, e.g. `C12`.
        cell: String,
    },
}

/// One log line.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Input file name (as given, file name only).
    pub file: String,
    /// Where in the file.
    pub location: Location,
    /// Byte offsets within the field (original text).
    pub span: [usize; 2],
    /// What kind of data.
    pub kind: EntityKind,
    /// Full exemption cite (`5 ILCS 140/7(1)(b)`).
    pub exemption: String,
    /// Operator applied.
    pub action: &'static str,
    /// Detector that found it.
    pub detector: &'static str,
    /// Discrete confidence.
    pub confidence: crate::entity::Confidence,
    /// The same as a number.
    pub score: f32,
    /// Flagged for counsel's review.
    pub counsel_review: bool,
}

impl LogEntry {
    /// Builds an entry; `cite` turns a short exemption into a full citation.
    pub fn new(file: &str, location: Location, a: &Applied, cite: &dyn Fn(&str) -> String) -> Self {
        LogEntry {
            file: file.to_string(),
            location,
            span: [a.start, a.end],
            kind: a.kind,
            exemption: cite(&a.exemption),
            action: a.action.as_str(),
            detector: a.detector,
            confidence: a.confidence,
            score: a.confidence.score(),
            counsel_review: a.counsel,
        }
    }
}

/// A review candidate: below the confidence threshold, left unredacted. Unlike the log it shows
/// a short excerpt, because the records officer must see it to accept or reject it; it is
/// written only where the officer asks (`--review FILE`), never into the release folder.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewEntry {
    /// Input file name.
    pub file: String,
    /// Where in the file.
    pub location: Location,
    /// Byte offsets within the field.
    pub span: [usize; 2],
    /// Suspected kind.
    pub kind: EntityKind,
    /// Detector.
    pub detector: &'static str,
    /// Confidence (below the policy threshold).
    pub confidence: crate::entity::Confidence,
    /// The candidate text.
    pub candidate: String,
}
