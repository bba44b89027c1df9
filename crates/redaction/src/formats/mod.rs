//! File formats: each reads a stream, redacts it record by record (batches in parallel over all
//! cores, output in input order), writes the release stream, and reports log entries to a sink.
//! Memory is bounded by the batch size for text, CSV/TSV, JSON Lines, JSON arrays and XLSX rows
//! (see `xlsx` for the one exception, a sheet whose cells are out of order).

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
use crate::log::{
    push_head, push_location, push_span, push_tail, rule_beyond_header, ColumnRunEntry, Location,
    ReviewEntry,
};
use crate::redactor::{Applied, RedactedField, Redactor};

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

/// Receives the log and the review list as JSON Lines, in input order, a batch at a time (lines
/// are serialised where the records are redacted, in parallel, and written here in order).
pub trait Sink {
    /// Log lines (one JSON object per line per applied redaction).
    fn write_log(&mut self, lines: &[u8]) -> std::io::Result<()>;
    /// Review lines (one JSON object per line per uncertain candidate left in place).
    fn write_review(&mut self, lines: &[u8]) -> std::io::Result<()>;
}

/// A sink that keeps the log and the review list in memory, exactly as a release writes them
/// (tests, benchmarks, small inputs).
#[derive(Default)]
pub struct MemorySink {
    /// Log lines (JSON Lines).
    pub log: Vec<u8>,
    /// Review lines (JSON Lines).
    pub review: Vec<u8>,
}

impl Sink for MemorySink {
    fn write_log(&mut self, lines: &[u8]) -> std::io::Result<()> {
        self.log.extend_from_slice(lines);
        Ok(())
    }
    fn write_review(&mut self, lines: &[u8]) -> std::io::Result<()> {
        self.review.extend_from_slice(lines);
        Ok(())
    }
}

/// Consecutive rows of one column whose cells were each redacted whole, the same way.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CellRun {
    pub rows: [u64; 2],
    pub kind: EntityKind,
    pub action: crate::policy::Action,
    pub detector: &'static str,
    pub confidence: crate::entity::Confidence,
    pub counsel: bool,
}

impl CellRun {
    /// The run a field starts or continues, when the field is one whole-cell redaction and
    /// nothing else.
    pub(crate) fn of(row: u64, original: &str, field: &RedactedField<'_>) -> Option<CellRun> {
        let [a] = field.applied.as_slice() else {
            return None;
        };
        let whole = (a.start, a.end) == crate::detect::bytes::trimmed_span(original);
        (whole && field.review.is_empty()).then_some(CellRun {
            rows: [row, row],
            kind: a.kind,
            action: a.action,
            detector: a.detector,
            confidence: a.confidence,
            counsel: a.counsel,
        })
    }

    /// True when `next` (one row) continues this run.
    pub(crate) fn continued_by(&self, next: &CellRun) -> bool {
        next.rows[0] == self.rows[1] + 1
            && (next.kind, next.action, next.confidence, next.counsel)
                == (self.kind, self.action, self.confidence, self.counsel)
            // The same static name nearly always: its address first, its text only if not.
            && (std::ptr::eq(next.detector, self.detector) || next.detector == self.detector)
    }
}

/// Line tails (kind, detector, confidence) already written on this thread. A tail is the same
/// in every batch, file and redactor, so it is written once per thread, not once per batch (a
/// text chunk's: 179 batches a 1.5 MB text, each writing its two dozen tails again and
/// searching a list of them for every line). Entries of one kind are chained, most recent
/// first, from `by_kind`: a look-up compares the few entries of its kind. An entry is the
/// detector's address and length, the confidence, the range in `bytes`, and the index + 1 of
/// the kind's previous entry (0: none). Static detector names are compared by address: an
/// equal name elsewhere only costs one more cached tail, never a wrong one.
struct Tails {
    by_kind: [u32; EntityKind::ALL.len()],
    entries: Vec<(usize, usize, crate::entity::Confidence, [u32; 2], u32)>,
    bytes: Vec<u8>,
}

impl Tails {
    /// The cached tail of `a`'s line (kind, detector, confidence; no rule), written on a miss.
    fn get(&mut self, a: &Applied) -> &[u8] {
        let kind = a.kind as usize;
        let (address, len) = (a.detector.as_ptr() as usize, a.detector.len());
        let mut j = self.by_kind.get(kind).copied().unwrap_or(0);
        let mut found = None;
        while let Some(&(at, n, c, range, prev)) =
            j.checked_sub(1).and_then(|i| self.entries.get(i as usize))
        {
            if at == address && n == len && c == a.confidence {
                found = Some(range);
                break;
            }
            j = prev;
        }
        let [from, to] = match found {
            Some(range) => range,
            None => self.write(a, kind, address, len),
        };
        self.bytes.get(from as usize..to as usize).unwrap_or(&[])
    }

    /// Writes the tail of `a`'s line and chains it first for its kind; its range in `bytes`.
    #[cold]
    fn write(&mut self, a: &Applied, kind: usize, address: usize, len: usize) -> [u32; 2] {
        // Bounded: detectors with names made at run time could add tails without end.
        if self.entries.len() >= 4096 {
            self.entries.clear();
            self.bytes.clear();
            self.by_kind = [0; EntityKind::ALL.len()];
        }
        let from = self.bytes.len() as u32;
        push_tail(&mut self.bytes, a.kind, a.detector, a.confidence, None);
        let range = [from, self.bytes.len() as u32];
        if let Some(first) = self.by_kind.get_mut(kind) {
            self.entries
                .push((address, len, a.confidence, range, *first));
            *first = self.entries.len() as u32;
        }
        range
    }
}

thread_local! {
    static TAILS: std::cell::RefCell<Tails> = const {
        std::cell::RefCell::new(Tails {
            by_kind: [0; EntityKind::ALL.len()],
            entries: Vec::new(),
            bytes: Vec::new(),
        })
    };
}

/// Log and review lines and counts of some records, built where they are redacted (no
/// allocation per line) and handed to the sink in input order.
#[derive(Default)]
pub struct LogBatch {
    log: Vec<u8>,
    review: Vec<u8>,
    redactions: [u64; EntityKind::ALL.len()],
    review_candidates: u64,
    counsel_flags: u64,
}

impl LogBatch {
    /// A batch whose log has room for the lines of `input` bytes of records, so that a batch of
    /// many records does not grow its log by doubling (each growth copies the lines so far: 2 %
    /// of a JSON Lines redaction). Dense records average about 2.3 log bytes per input byte;
    /// capped, as one long record would otherwise reserve far more than its log needs.
    pub(crate) fn for_input(input: usize) -> Self {
        LogBatch {
            log: Vec::with_capacity(input.saturating_mul(3).min(4 << 20)),
            ..LogBatch::default()
        }
    }

    /// Adds the entries of one redacted field.
    pub(crate) fn field<'l>(
        &mut self,
        redactor: &Redactor,
        file: &str,
        original: &str,
        field: &RedactedField<'_>,
        location: &dyn Fn(usize) -> Location<'l>,
    ) {
        if !field.applied.is_empty() {
            // A log line is about 70 bytes: grow once per field, not line by line.
            self.log.reserve(field.applied.len() * 96);
            TAILS.with_borrow_mut(|tails| {
                for a in &field.applied {
                    push_head(&mut self.log, &location(a.start), [a.start, a.end]);
                    self.end_line(redactor, tails, a);
                }
            });
        }
        self.add_review(file, original, field, location);
    }

    /// Adds the review lines of one redacted field. Inlined: as a call of its own it cost the
    /// tables, whose cells nearly all have none, a call per cell.
    #[inline(always)]
    fn add_review<'l>(
        &mut self,
        file: &str,
        original: &str,
        field: &RedactedField<'_>,
        location: &dyn Fn(usize) -> Location<'l>,
    ) {
        for f in &field.review {
            self.review_candidates += 1;
            let entry = ReviewEntry {
                file,
                location: location(f.start),
                span: [f.start, f.end],
                kind: f.kind,
                detector: f.detector,
                confidence: f.confidence,
                candidate: &original[f.start..f.end],
            };
            if serde_json::to_writer(&mut self.review, &entry).is_ok() {
                self.review.push(b'\n');
            }
        }
    }

    /// [`Self::field`] for fields (original text, redacted field, location) whose every
    /// redaction has the field's one location (JSON leaves): each line's head up to the span is
    /// written once a field, then copied for each further line, not rebuilt and its pointer
    /// tested for escapes line by line (JSON Lines logs about ten lines a record, and writing
    /// their heads was a twelfth of its instructions); the thread's tails are taken once for all
    /// the fields (a record's leaves). `plain`: no location's pointer or column needs a JSON
    /// escape (known to the caller).
    pub(crate) fn fields_at<'f, 'l>(
        &mut self,
        redactor: &Redactor,
        file: &str,
        fields: impl Iterator<Item = (&'f str, &'f RedactedField<'f>, Location<'l>)>,
        plain: bool,
    ) {
        TAILS.with_borrow_mut(|tails| {
            for (original, field, location) in fields {
                self.field_at(redactor, tails, field, &location, plain);
                self.add_review(file, original, field, &|_| location.clone());
            }
        });
    }

    /// The log lines of one field of [`Self::fields_at`].
    #[inline(always)]
    fn field_at(
        &mut self,
        redactor: &Redactor,
        tails: &mut Tails,
        field: &RedactedField<'_>,
        location: &Location<'_>,
        plain: bool,
    ) {
        if field.applied.is_empty() {
            return;
        }
        // A log line is about 70 bytes: grow once per field, not line by line.
        self.log.reserve(field.applied.len() * 96);
        let head_start = self.log.len();
        push_location(&mut self.log, location, plain);
        let head = head_start..self.log.len();
        for (i, a) in field.applied.iter().enumerate() {
            if i > 0 {
                // The head written above: in bounds, as the log only grew since.
                self.log.extend_from_within(head.clone());
            }
            push_span(&mut self.log, [a.start, a.end]);
            self.end_line(redactor, tails, a);
        }
    }

    /// Counts redaction `a` and ends its line after the span: a line made as the file header
    /// states (all of them today) with the thread's cached tail, any other with its rule.
    #[inline(always)]
    fn end_line(&mut self, redactor: &Redactor, tails: &mut Tails, a: &Applied) {
        if let Some(n) = self.redactions.get_mut(a.kind as usize) {
            *n += 1;
        }
        self.counsel_flags += u64::from(a.counsel);
        let cite = redactor.full_cite(a.kind);
        match rule_beyond_header(redactor, a.kind, a.action, cite, a.counsel) {
            None => self.log.extend_from_slice(tails.get(a)),
            rule => push_tail(&mut self.log, a.kind, a.detector, a.confidence, rule),
        }
    }

    /// Adds one line for a run of whole-cell redactions of a table column.
    pub(crate) fn column_run(&mut self, redactor: &Redactor, column: &str, run: &CellRun) {
        let cells = run.rows[1] + 1 - run.rows[0];
        self.redactions[run.kind as usize] += cells;
        if run.counsel {
            self.counsel_flags += cells;
        }
        let cite = redactor.full_cite(run.kind);
        let rule = rule_beyond_header(redactor, run.kind, run.action, cite, run.counsel);
        // Writing to a Vec cannot fail.
        let _ = ColumnRunEntry {
            column,
            rows: run.rows,
            kind: run.kind,
            detector: run.detector,
            confidence: run.confidence,
            rule,
        }
        .write_json_line(&mut self.log);
    }

    /// Hands the lines to the sink, adds the counts to the report, and empties the batch.
    pub(crate) fn flush(
        &mut self,
        file: &str,
        sink: &mut dyn Sink,
        report: &mut FileReport,
    ) -> Result<(), FormatError> {
        if !self.log.is_empty() {
            sink.write_log(&self.log)
                .map_err(|e| FormatError::io(file, e))?;
        }
        if !self.review.is_empty() {
            sink.write_review(&self.review)
                .map_err(|e| FormatError::io(file, e))?;
        }
        for (kind, n) in EntityKind::ALL.iter().zip(&self.redactions) {
            if *n > 0 {
                *report.redactions.entry(*kind).or_insert(0) += n;
            }
        }
        report.review_candidates += self.review_candidates;
        report.counsel_flags += self.counsel_flags;
        self.log.clear();
        self.review.clear();
        self.redactions = [0; EntityKind::ALL.len()];
        self.review_candidates = 0;
        self.counsel_flags = 0;
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

/// Sends a redacted field's entries to the sink and counts them (formats that handle one field
/// at a time).
pub(crate) fn report_field<'l>(
    redactor: &Redactor,
    file: &str,
    original: &str,
    field: &RedactedField<'_>,
    location: &dyn Fn(usize) -> Location<'l>,
    sink: &mut dyn Sink,
    report: &mut FileReport,
) -> Result<(), FormatError> {
    let mut batch = LogBatch::default();
    batch.field(redactor, file, original, field, location);
    batch.flush(file, sink, report)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogEntry;
    use crate::policy::Policy;

    /// Tails from the thread's cache are those each entry writes alone: every kind under
    /// detectors that differ only in confidence, equal names at two addresses, and more names
    /// than the cache keeps (it starts over), in batches of many lines and of one.
    #[test]
    fn cached_tails_equal_written_ones() {
        use crate::entity::Confidence;
        let redactor = Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap();
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let mut detectors: Vec<&'static str> =
            vec!["gazetteer.person", leak("gazetteer.person".into())];
        detectors.extend((0..5000).map(|i| leak(format!("test.detector{}", i % 4999))));
        let confidences = [
            Confidence::Possible,
            Confidence::Likely,
            Confidence::VeryLikely,
        ];
        let mut applied = Vec::new();
        for (i, &detector) in detectors.iter().enumerate() {
            for (j, &kind) in EntityKind::ALL
                .iter()
                .enumerate()
                .filter(|(j, _)| (i + j) % 7 == 0)
            {
                let Some((action, _, counsel)) = redactor.kind_rule(kind) else {
                    continue;
                };
                // The first detectors under every confidence, one after the other.
                for r in 0..if i < 50 { 3 } else { 1 } {
                    applied.push(Applied {
                        start: i,
                        end: i + j + 1,
                        kind,
                        detector,
                        confidence: confidences[(i + j + r) % 3],
                        action,
                        counsel,
                    });
                }
            }
        }
        // Redactions not made as the header states (counsel flag, action): their lines carry
        // the rule, written whole, between cached ones.
        for (i, kind) in EntityKind::ALL.into_iter().enumerate() {
            let Some((action, _, counsel)) = redactor.kind_rule(kind) else {
                continue;
            };
            let other = if action == crate::policy::Action::Mask {
                crate::policy::Action::Label
            } else {
                crate::policy::Action::Mask
            };
            for (action, counsel) in [(action, !counsel), (other, counsel), (action, counsel)] {
                applied.push(Applied {
                    start: i,
                    end: i + 7,
                    kind,
                    detector: detectors[0],
                    confidence: Confidence::Likely,
                    action,
                    counsel,
                });
            }
        }
        // Again, from a warm cache, in the other order.
        let again: Vec<Applied> = applied.iter().rev().cloned().collect();
        applied.extend(again);
        let location = |pos: usize| Location::Line { line: pos as u64 };
        let mut want = Vec::new();
        for a in &applied {
            LogEntry::new(&redactor, location(a.start), a, redactor.full_cite(a.kind))
                .write_json_line(&mut want)
                .unwrap();
        }
        let rules = String::from_utf8_lossy(&want).matches(",\"cr\":").count();
        assert!(rules >= 2 * 2 * EntityKind::ALL.len() - 8, "{rules}");
        let mut batch = LogBatch::default();
        for many in [true, false] {
            let mut log = Vec::new();
            let fields: Vec<Vec<Applied>> = if many {
                vec![applied.clone()]
            } else {
                applied.iter().map(|a| vec![a.clone()]).collect()
            };
            for applied in fields {
                let field = RedactedField {
                    text: std::borrow::Cow::Borrowed(""),
                    applied,
                    review: Vec::new(),
                };
                batch.field(&redactor, "t.txt", "", &field, &location);
                log.append(&mut batch.log);
            }
            assert!(log == want, "{}", String::from_utf8_lossy(&log[..400]));
        }
    }

    /// A report with many redactions of several kinds, for the log tests.
    const SAMPLE_REPORT: &str = "ARRESTEE: GARCIA, JUAN  DOB: 01/02/1980  SSN: 123-45-6789\n\
        Phone 312-555-0100, cell (708) 662-8528; Mr. Garcia lives at 4823 N Kostner Dr.\n\
        SSN 234-56-7890, passport no. C12345678, card 4111 1111 1111 1111";

    /// `fields_at` (the head written once per field) writes what `field` writes for the same
    /// location at every offset, and what each entry writes alone: log, review list and counts,
    /// for pointers with and without escapes, lines of one to seven digits, fields of one and of
    /// many redactions, redactions not made as the header states (their rule written), and
    /// review candidates; also when told that the pointer needs no escape.
    #[test]
    fn fields_at_equals_field() {
        use crate::entity::{Confidence, Finding};
        let redactor = Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap();
        let text = SAMPLE_REPORT;
        let redacted = redactor.redact_text(text);
        assert!(redacted.applied.len() > 5);
        let mut fields: Vec<Vec<Applied>> = vec![Vec::new(), redacted.applied.clone()];
        fields.extend(redacted.applied.iter().map(|a| vec![a.clone()]));
        // Counsel flag and action other than the header's: lines that carry their rule.
        let mut ruled = redacted.applied.clone();
        for (i, a) in ruled.iter_mut().enumerate() {
            if i % 2 == 0 {
                a.counsel = !a.counsel;
            } else {
                a.action = crate::policy::Action::Mask;
            }
        }
        fields.push(ruled);
        let review = vec![Finding {
            start: 10,
            end: 22,
            kind: EntityKind::Person,
            detector: "gazetteer.person",
            confidence: Confidence::Possible,
        }];
        let pointers = [
            "",
            "/narrative",
            "/a~1b/0/c~0d",
            "/q\"uote",
            "/back\\slash/7",
            "/\u{1}nl\n",
        ];
        // Every field again after, in one call.
        let mut all = Vec::new();
        let (mut old, mut new, mut told) = (
            LogBatch::default(),
            LogBatch::default(),
            LogBatch::default(),
        );
        let mut want = Vec::new();
        let mut cases = 0;
        for (i, applied) in fields.iter().enumerate() {
            for (j, pointer) in pointers.iter().enumerate() {
                let line = 10u64.pow(((i + j) % 7) as u32) + j as u64;
                let location = Location::Json { line, pointer };
                let field = RedactedField {
                    text: std::borrow::Cow::Borrowed(""),
                    applied: applied.clone(),
                    review: if (i + j) % 3 == 0 {
                        review.clone()
                    } else {
                        Vec::new()
                    },
                };
                old.field(&redactor, "f.jsonl", text, &field, &|_| location.clone());
                let one = std::iter::once((text, &field, location.clone()));
                new.fields_at(&redactor, "f.jsonl", one, false);
                // Told (as `redact_leaves` tells it) that the pointer needs no escape.
                let plain = !pointer.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
                let one = std::iter::once((text, &field, location.clone()));
                told.fields_at(&redactor, "f.jsonl", one, plain);
                all.push((field.clone(), location.clone()));
                for a in applied {
                    LogEntry::new(&redactor, location.clone(), a, redactor.full_cite(a.kind))
                        .write_json_line(&mut want)
                        .unwrap();
                }
                cases += 1;
            }
        }
        assert!(cases > 30 && String::from_utf8_lossy(&want).contains(",\"cr\":"));
        assert!(new.log == want, "{}", String::from_utf8_lossy(&new.log));
        assert!(new.log == old.log && told.log == old.log);
        let mut together = LogBatch::default();
        let fields = all.iter().map(|(f, l)| (text, f, l.clone()));
        together.fields_at(&redactor, "f.jsonl", fields, false);
        assert!(together.log == old.log && together.review == old.review);
        assert!(!new.review.is_empty() && new.review == old.review);
        assert_eq!(new.redactions, old.redactions);
        assert_eq!(
            (new.review_candidates, new.counsel_flags),
            (old.review_candidates, old.counsel_flags)
        );
    }

    /// A batch's lines are the lines each entry writes alone, one per redaction, and name no
    /// original value.
    #[test]
    fn batched_lines_equal_single_lines() {
        let redactor = Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap();
        let text = SAMPLE_REPORT;
        let field = redactor.redact_text(text);
        assert!(field.applied.len() > 5);
        let location = |pos: usize| Location::Line {
            line: 1 + text[..pos].matches('\n').count() as u64,
        };
        let mut batch = LogBatch::default();
        batch.field(&redactor, "r\"1.txt", text, &field, &location);
        batch.field(&redactor, "r\"1.txt", text, &field, &location);
        let mut want = Vec::new();
        for _ in 0..2 {
            for a in &field.applied {
                LogEntry::new(&redactor, location(a.start), a, redactor.full_cite(a.kind))
                    .write_json_line(&mut want)
                    .unwrap();
            }
        }
        assert_eq!(
            String::from_utf8_lossy(&batch.log),
            String::from_utf8_lossy(&want)
        );
        let log = String::from_utf8(batch.log).unwrap();
        assert_eq!(log.lines().count(), 2 * field.applied.len());
        for (line, a) in log.lines().zip(field.applied.iter().cycle()) {
            let e: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(e["s"], serde_json::json!([a.start, a.end]), "{line}");
            assert_eq!(e["k"], a.kind.as_str(), "{line}");
            assert!(
                e.get("x").is_none(),
                "the header states the exemption: {line}"
            );
        }
        for secret in ["GARCIA", "123-45-6789", "Kostner", "C12345678"] {
            assert!(!log.contains(secret), "{log}");
        }
    }
}
