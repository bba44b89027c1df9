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
    /// A PDF page and the 1-based line within its text layer.
    Page {
        /// 1-based page.
        page: u64,
        /// 1-based line on the page.
        line: u64,
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

impl LogEntry {
    /// Writes the entry as one JSON line, the same as serde would, without the generic
    /// serializer's per-field cost (the log can have more lines than the input).
    pub fn write_json_line<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        let json =
            |w: &mut W, s: &str| serde_json::to_writer(&mut *w, s).map_err(std::io::Error::from);
        w.write_all(b"{\"file\":")?;
        json(w, &self.file)?;
        w.write_all(b",\"location\":")?;
        match &self.location {
            Location::Line { line } => write!(w, "{{\"type\":\"line\",\"line\":{line}}}")?,
            Location::Cell { row, column } => {
                write!(w, "{{\"type\":\"cell\",\"row\":{row},\"column\":")?;
                json(w, column)?;
                w.write_all(b"}")?;
            }
            Location::Json { line, pointer } => {
                write!(w, "{{\"type\":\"json\",\"line\":{line},\"pointer\":")?;
                json(w, pointer)?;
                w.write_all(b"}")?;
            }
            Location::Page { page, line } => {
                write!(w, "{{\"type\":\"page\",\"page\":{page},\"line\":{line}}}")?
            }
            Location::Sheet { sheet, cell } => {
                w.write_all(b"{\"type\":\"sheet\",\"sheet\":")?;
                json(w, sheet)?;
                w.write_all(b",\"cell\":")?;
                json(w, cell)?;
                w.write_all(b"}")?;
            }
        }
        write!(
            w,
            ",\"span\":[{},{}],\"kind\":\"{}\",\"exemption\":",
            self.span[0],
            self.span[1],
            self.kind.as_str()
        )?;
        json(w, &self.exemption)?;
        let confidence = match self.confidence {
            crate::entity::Confidence::Possible => "possible",
            crate::entity::Confidence::Likely => "likely",
            crate::entity::Confidence::VeryLikely => "very_likely",
        };
        writeln!(
            w,
            ",\"action\":\"{}\",\"detector\":\"{}\",\"confidence\":\"{confidence}\",\"score\":{},\"counsel_review\":{}}}",
            self.action, self.detector, self.score, self.counsel_review
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Confidence;

    #[test]
    fn fast_writer_matches_serde() {
        let locations = [
            Location::Line { line: 3 },
            Location::Cell {
                row: 2,
                column: "Home \"Address\"".into(),
            },
            Location::Json {
                line: 1,
                pointer: "/a~1b/0".into(),
            },
            Location::Page { page: 2, line: 9 },
            Location::Sheet {
                sheet: "Hoja 1".into(),
                cell: "C12".into(),
            },
        ];
        for location in locations {
            let entry = LogEntry {
                file: "r\u{e9}port.csv".into(),
                location,
                span: [4, 15],
                kind: EntityKind::ANumber,
                exemption: "5 ILCS 140/7(1)(b)".into(),
                action: "label",
                detector: "pattern.a_number",
                confidence: Confidence::VeryLikely,
                score: Confidence::VeryLikely.score(),
                counsel_review: true,
            };
            let mut fast = Vec::new();
            entry.write_json_line(&mut fast).unwrap();
            let a: serde_json::Value = serde_json::from_slice(&fast).unwrap();
            let b: serde_json::Value =
                serde_json::from_str(&serde_json::to_string(&entry).unwrap()).unwrap();
            assert_eq!(a, b);
        }
    }
}
