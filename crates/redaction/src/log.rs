//! The redaction log: one JSON line per redaction (where, what kind, which exemption, which
//! detector, how sure), fit to attach to the FOIA response. It never holds an original value:
//! entries are built from `Applied` records, which carry offsets and kinds only. Entries borrow
//! their strings (file, column, pointer, citation) so a line costs no allocation.
//!
//! A classified table column is redacted whole in every row, and one line per cell made the log
//! ten times the size of the table: consecutive rows whose cells of one column were each redacted
//! whole, the same way, are one line ([`ColumnRunEntry`], location type `cells`, `rows` first
//! and last, `count`, span `whole_cell`). Nothing is lost: each of those cells was replaced
//! entirely (its trimmed extent), with that kind, exemption, action and confidence.

use serde::Serialize;

use crate::entity::EntityKind;
use crate::redactor::Applied;

/// Where in a file a field is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Location<'a> {
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
        column: &'a str,
    },
    /// A JSON value: 1-based line (JSON Lines; 1 for JSON) and a JSON Pointer (RFC 6901).
    Json {
        /// 1-based line.
        line: u64,
        /// JSON Pointer to the string.
        pointer: &'a str,
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
        sheet: &'a str,
        /// Cell reference, e.g. `C12`.
        cell: &'a str,
    },
}

/// One log line.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry<'a> {
    /// Input file name (as given, file name only).
    pub file: &'a str,
    /// Where in the file.
    pub location: Location<'a>,
    /// Byte offsets within the field (original text).
    pub span: [usize; 2],
    /// What kind of data.
    pub kind: EntityKind,
    /// Full exemption cite (`5 ILCS 140/7(1)(b)`).
    pub exemption: &'a str,
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

impl<'a> LogEntry<'a> {
    /// Builds an entry; `cite` is the full citation of the redaction's exemption.
    pub fn new(file: &'a str, location: Location<'a>, a: &Applied, cite: &'a str) -> Self {
        LogEntry {
            file,
            location,
            span: [a.start, a.end],
            kind: a.kind,
            exemption: cite,
            action: a.action.as_str(),
            detector: a.detector,
            confidence: a.confidence,
            score: a.confidence.score(),
            counsel_review: a.counsel,
        }
    }
}

impl LogEntry<'_> {
    /// Writes the entry as one JSON line, the same as serde would, without the generic
    /// serializer's per-field cost (the log can have more lines than the input).
    pub fn write_json_line<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        self.write_head(w)?;
        self.write_tail(w)
    }

    /// The line up to the span (file, location, span): what differs from line to line.
    pub(crate) fn write_head<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        let json = write_json_str;
        w.write_all(b"{\"file\":")?;
        json(w, self.file)?;
        w.write_all(b",\"location\":")?;
        match &self.location {
            Location::Line { line } => {
                w.write_all(b"{\"type\":\"line\",\"line\":")?;
                write_u64(w, *line)?;
                w.write_all(b"}")?;
            }
            Location::Cell { row, column } => {
                w.write_all(b"{\"type\":\"cell\",\"row\":")?;
                write_u64(w, *row)?;
                w.write_all(b",\"column\":")?;
                json(w, column)?;
                w.write_all(b"}")?;
            }
            Location::Json { line, pointer } => {
                w.write_all(b"{\"type\":\"json\",\"line\":")?;
                write_u64(w, *line)?;
                w.write_all(b",\"pointer\":")?;
                json(w, pointer)?;
                w.write_all(b"}")?;
            }
            Location::Page { page, line } => {
                w.write_all(b"{\"type\":\"page\",\"page\":")?;
                write_u64(w, *page)?;
                w.write_all(b",\"line\":")?;
                write_u64(w, *line)?;
                w.write_all(b"}")?;
            }
            Location::Sheet { sheet, cell } => {
                w.write_all(b"{\"type\":\"sheet\",\"sheet\":")?;
                json(w, sheet)?;
                w.write_all(b",\"cell\":")?;
                json(w, cell)?;
                w.write_all(b"}")?;
            }
        }
        w.write_all(b",\"span\":[")?;
        write_u64(w, self.span[0] as u64)?;
        w.write_all(b",")?;
        write_u64(w, self.span[1] as u64)?;
        w.write_all(b"]")
    }

    /// The rest of the line (kind, exemption, action, detector, confidence, score, counsel
    /// flag): the same for every redaction of one kind by one detector at one confidence, so a
    /// batch of lines writes it once and copies it ([`TailKey`]).
    pub(crate) fn write_tail<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        let json = write_json_str;
        w.write_all(b",\"kind\":\"")?;
        w.write_all(self.kind.as_str().as_bytes())?;
        w.write_all(b"\",\"exemption\":")?;
        json(w, self.exemption)?;
        // The score is one of three fixed values; its text is the one serde writes for it.
        let (confidence, score) = match self.confidence {
            crate::entity::Confidence::Possible => ("possible", "0.5"),
            crate::entity::Confidence::Likely => ("likely", "0.8"),
            crate::entity::Confidence::VeryLikely => ("very_likely", "0.97"),
        };
        w.write_all(b",\"action\":\"")?;
        w.write_all(self.action.as_bytes())?;
        w.write_all(b"\",\"detector\":\"")?;
        w.write_all(self.detector.as_bytes())?;
        w.write_all(b"\",\"confidence\":\"")?;
        w.write_all(confidence.as_bytes())?;
        w.write_all(b"\",\"score\":")?;
        if self.score == self.confidence.score() {
            w.write_all(score.as_bytes())?;
        } else {
            write!(w, "{}", self.score)?;
        }
        w.write_all(if self.counsel_review {
            b",\"counsel_review\":true}\n"
        } else {
            b",\"counsel_review\":false}\n"
        })
    }
}

/// What [`LogEntry::write_tail`] depends on besides the exemption (compared by content where
/// the tail is cached), to reuse a tail already written. The action and detector are static
/// strings, compared by address and length: an equal string at another address only costs one
/// more cached tail, never a wrong one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TailKey {
    kind: EntityKind,
    action: (usize, usize),
    detector: (usize, usize),
    confidence: crate::entity::Confidence,
    score: u32,
    counsel: bool,
}

impl TailKey {
    pub(crate) fn of(e: &LogEntry<'_>) -> Self {
        let at = |s: &str| (s.as_ptr() as usize, s.len());
        TailKey {
            kind: e.kind,
            action: at(e.action),
            detector: at(e.detector),
            confidence: e.confidence,
            score: e.score.to_bits(),
            counsel: e.counsel_review,
        }
    }
}

/// A JSON string as serde_json writes it; most strings here (file names, headers, pointers,
/// citations) need no escape and are copied as they are.
fn write_json_str<W: std::io::Write>(w: &mut W, s: &str) -> std::io::Result<()> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        w.write_all(b"\"")?;
        w.write_all(s.as_bytes())?;
        return w.write_all(b"\"");
    }
    serde_json::to_writer(&mut *w, s).map_err(std::io::Error::from)
}

/// Decimal digits of `n` without the formatting machinery.
fn write_u64<W: std::io::Write>(w: &mut W, mut n: u64) -> std::io::Result<()> {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    w.write_all(&buf[i..])
}

/// Consecutive rows `rows[0]..=rows[1]` of one table column whose cells were each redacted
/// whole (their trimmed extent), with the same kind, exemption, action and confidence.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnRunEntry<'a> {
    /// Input file name.
    pub file: &'a str,
    /// Column header.
    pub column: &'a str,
    /// First and last 1-based data row.
    pub rows: [u64; 2],
    /// What kind of data.
    pub kind: EntityKind,
    /// Full exemption cite.
    pub exemption: &'a str,
    /// Operator applied.
    pub action: &'static str,
    /// Detector (`column`: the column's classification).
    pub detector: &'static str,
    /// Discrete confidence.
    pub confidence: crate::entity::Confidence,
    /// Flagged for counsel's review.
    pub counsel_review: bool,
}

impl ColumnRunEntry<'_> {
    /// Writes the run as one JSON line, in the shape of a [`LogEntry`]: location
    /// `{"type":"cells","column":..,"row":first,"rows":[first,last]}`, `"span":"whole_cell"`,
    /// plus `"count"` (cells in the run).
    pub fn write_json_line<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        let json = write_json_str;
        w.write_all(b"{\"file\":")?;
        json(w, self.file)?;
        w.write_all(b",\"location\":{\"type\":\"cells\",\"column\":")?;
        json(w, self.column)?;
        w.write_all(b",\"row\":")?;
        write_u64(w, self.rows[0])?;
        w.write_all(b",\"rows\":[")?;
        write_u64(w, self.rows[0])?;
        w.write_all(b",")?;
        write_u64(w, self.rows[1])?;
        w.write_all(b"]},\"span\":\"whole_cell\",\"count\":")?;
        write_u64(w, self.rows[1] + 1 - self.rows[0])?;
        w.write_all(b",\"kind\":\"")?;
        w.write_all(self.kind.as_str().as_bytes())?;
        w.write_all(b"\",\"exemption\":")?;
        json(w, self.exemption)?;
        let (confidence, score) = match self.confidence {
            crate::entity::Confidence::Possible => ("possible", "0.5"),
            crate::entity::Confidence::Likely => ("likely", "0.8"),
            crate::entity::Confidence::VeryLikely => ("very_likely", "0.97"),
        };
        w.write_all(b",\"action\":\"")?;
        w.write_all(self.action.as_bytes())?;
        w.write_all(b"\",\"detector\":\"")?;
        w.write_all(self.detector.as_bytes())?;
        w.write_all(b"\",\"confidence\":\"")?;
        w.write_all(confidence.as_bytes())?;
        w.write_all(b"\",\"score\":")?;
        w.write_all(score.as_bytes())?;
        w.write_all(if self.counsel_review {
            b",\"counsel_review\":true}\n"
        } else {
            b",\"counsel_review\":false}\n"
        })
    }
}

/// A review candidate: below the confidence threshold, left unredacted. Unlike the log it shows
/// a short excerpt, because the records officer must see it to accept or reject it; it is
/// written only where the officer asks (`--review FILE`), never into the release folder.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewEntry<'a> {
    /// Input file name.
    pub file: &'a str,
    /// Where in the file.
    pub location: Location<'a>,
    /// Byte offsets within the field.
    pub span: [usize; 2],
    /// Suspected kind.
    pub kind: EntityKind,
    /// Detector.
    pub detector: &'static str,
    /// Confidence (below the policy threshold).
    pub confidence: crate::entity::Confidence,
    /// The candidate text.
    pub candidate: &'a str,
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
                column: "Home \"Address\"",
            },
            Location::Json {
                line: 1,
                pointer: "/a~1b/0",
            },
            Location::Page { page: 2, line: 9 },
            Location::Sheet {
                sheet: "Hoja 1",
                cell: "C12",
            },
        ];
        let confidences = [
            Confidence::Possible,
            Confidence::Likely,
            Confidence::VeryLikely,
        ];
        for (i, location) in locations.into_iter().enumerate() {
            let confidence = confidences[i % 3];
            let entry = LogEntry {
                file: "r\u{e9}port.csv",
                location,
                kind: EntityKind::ANumber,
                exemption: "5 ILCS 140/7(1)(b)",
                action: "label",
                detector: "pattern.a_number",
                span: [4, 15 + i * 1000],
                confidence,
                score: confidence.score(),
                counsel_review: i % 2 == 0,
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
