//! The redaction log, fit to attach to the FOIA response: JSON Lines, one line per redaction
//! (where, what kind, which detector, how sure) after one header line per file (the file's name,
//! and the exemption, action and counsel flag of each kind under the policy). It never holds an
//! original value: lines are built from `Applied` records, which carry offsets and kinds only.
//!
//! **Format 2** (`"log_format":2`; format 1 repeated the file name, exemption, action, score and
//! counsel flag on every line, ~220 bytes a redaction, 5× the size of a text input). A release's
//! log is, for each file redacted, in the order the files were added:
//!
//! ```text
//! {"log_format":2,"file":"reports.txt","format":"text","policy":"foia-general","kinds":{"SSN":{"exemption":"5 ILCS 140/7(1)(b)","action":"label","counsel_review":false},...},"confidence_scores":{"possible":0.5,"likely":0.8,"very_likely":0.97},"keys":{...}}
//! {"l":3,"s":[120,131],"k":"SSN","d":"pattern.ssn","c":"very_likely"}
//! {"r":7,"col":"Notes","s":[0,11],"k":"PERSON","d":"names.gazetteer","c":"likely"}
//! {"col":"SSN","rows":[1,64],"n":64,"s":"whole_cell","k":"SSN","d":"column","c":"very_likely"}
//! ```
//!
//! Header keys: `log_format`, `file` (input file name), `format`, `policy` (id), `kinds` (for
//! every kind the policy does not keep: full exemption cite, action, counsel flag; every
//! redaction of that kind in the file was made under them), `confidence_scores` (the number
//! each confidence stands for) and `keys` (the legend below, for a reader of the attachment).
//!
//! Redaction keys (short, as the log can have more lines than the input):
//! - where: `l` 1-based line (text; JSON Lines line, 1 in a JSON document; line on a PDF page),
//!   `pg` 1-based PDF page, `r` 1-based data row and `col` column header (tables), `p` JSON
//!   Pointer (RFC 6901), `sh` sheet and `cell` reference (spreadsheets);
//! - `s`: byte offsets `[start, end]` of the redacted text within the field's original text
//!   (the cell; the JSON string; in plain text, the chunk of lines redacted as one record, as
//!   in format 1);
//! - `k` kind, `d` detector, `c` confidence (`possible`, `likely`, `very_likely`);
//! - `a` action, `x` exemption, `cr` counsel flag: only when they differ from the header's for
//!   the kind (the redactor never does that today; the keys keep the log exact if it does).
//!
//! A classified table column is redacted whole in every row, and one line per cell made the log
//! ten times the size of the table: consecutive rows whose cells of one column were each redacted
//! whole, the same way, are one line (`col`, `rows` first and last, `n` cells, `s` `whole_cell`).
//! Nothing is lost: each of those cells was replaced entirely (its trimmed extent), with that
//! kind, detector and confidence.

use serde::Serialize;

use crate::entity::{Confidence, EntityKind};
use crate::policy::Action;
use crate::redactor::{Applied, Redactor};

/// The log format written by this version (the header's `log_format`).
pub const LOG_FORMAT: u32 = 2;

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

impl Location<'_> {
    /// The location's keys in a log line (`"l":3` / `"r":2,"col":"SSN"` / ...).
    fn write_keys<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        match self {
            Location::Line { line } => {
                w.write_all(b"\"l\":")?;
                write_u64(w, *line)
            }
            Location::Cell { row, column } => {
                w.write_all(b"\"r\":")?;
                write_u64(w, *row)?;
                w.write_all(b",\"col\":")?;
                write_json_str(w, column)
            }
            Location::Json { line, pointer } => {
                w.write_all(b"\"l\":")?;
                write_u64(w, *line)?;
                w.write_all(b",\"p\":")?;
                write_json_str(w, pointer)
            }
            Location::Page { page, line } => {
                w.write_all(b"\"pg\":")?;
                write_u64(w, *page)?;
                w.write_all(b",\"l\":")?;
                write_u64(w, *line)
            }
            Location::Sheet { sheet, cell } => {
                w.write_all(b"\"sh\":")?;
                write_json_str(w, sheet)?;
                w.write_all(b",\"cell\":")?;
                write_json_str(w, cell)
            }
        }
    }
}

/// One redaction's log line.
#[derive(Debug, Clone)]
pub struct LogEntry<'a> {
    /// Where in the file.
    pub location: Location<'a>,
    /// Byte offsets within the field (original text).
    pub span: [usize; 2],
    /// What kind of data.
    pub kind: EntityKind,
    /// Detector that found it.
    pub detector: &'static str,
    /// Discrete confidence.
    pub confidence: Confidence,
    /// Action, full exemption cite and counsel flag, when they differ from what the file header
    /// states for the kind (`None`: as the header says).
    pub rule: Option<(&'static str, &'a str, bool)>,
}

impl<'a> LogEntry<'a> {
    /// Builds an entry; `cite` is the full citation of the redaction's exemption. Action, cite
    /// and counsel flag are written only where they differ from `redactor`'s rule for the kind
    /// (what the file header states).
    pub fn new(redactor: &Redactor, location: Location<'a>, a: &Applied, cite: &'a str) -> Self {
        let rule = rule_beyond_header(redactor, a.kind, a.action, cite, a.counsel);
        LogEntry {
            location,
            span: [a.start, a.end],
            kind: a.kind,
            detector: a.detector,
            confidence: a.confidence,
            rule,
        }
    }

    /// Writes the entry as one JSON line.
    pub fn write_json_line<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b"{")?;
        self.location.write_keys(w)?;
        w.write_all(b",\"s\":[")?;
        write_u64(w, self.span[0] as u64)?;
        w.write_all(b",")?;
        write_u64(w, self.span[1] as u64)?;
        w.write_all(b"]")?;
        write_tail(w, self.kind, self.detector, self.confidence, self.rule)
    }
}

/// The rule a log line states (action, cite, counsel flag): `None` when the redaction was made
/// as the file header states for its kind, the rule every such line leaves out.
pub(crate) fn rule_beyond_header<'c>(
    redactor: &Redactor,
    kind: EntityKind,
    action: Action,
    cite: &'c str,
    counsel: bool,
) -> Option<(&'static str, &'c str, bool)> {
    match redactor.kind_rule(kind) {
        Some((header_action, header_cite, header_counsel))
            if header_action == action
                && header_counsel == counsel
                && (std::ptr::eq(header_cite, cite) || header_cite == cite) =>
        {
            None
        }
        _ => Some((action.as_str(), cite, counsel)),
    }
}

/// The start of a log line up to its span, as [`LogEntry::write_json_line`] writes it, for a
/// batch that writes lines without building their entries.
#[inline]
pub(crate) fn push_head(v: &mut Vec<u8>, location: &Location<'_>, span: [usize; 2]) {
    push_location(v, location, false);
    push_span(v, span);
}

/// The start of a line up to its span's offsets: `{`, the location's keys and `,"s":[`. The same
/// for every redaction in a field whose location does not depend on the offset (a JSON leaf).
/// `plain`: the caller knows that a JSON pointer needs no escape (tested once for all the
/// pointers of a record), so it is not tested again here.
#[inline(always)]
pub(crate) fn push_location(v: &mut Vec<u8>, location: &Location<'_>, plain: bool) {
    match location {
        // The common case (text) without the generic writer.
        Location::Line { line } => {
            v.extend_from_slice(b"{\"l\":");
            push_u64(v, *line);
        }
        Location::Json { line, pointer } => {
            v.extend_from_slice(b"{\"l\":");
            push_u64(v, *line);
            v.extend_from_slice(b",\"p\":");
            if plain {
                push_quoted(v, pointer);
            } else {
                push_json_str(v, pointer);
            }
        }
        Location::Cell { row, column } => {
            v.extend_from_slice(b"{\"r\":");
            push_u64(v, *row);
            v.extend_from_slice(b",\"col\":");
            push_json_str(v, column);
        }
        other => {
            v.push(b'{');
            // Writing to a Vec cannot fail.
            let _ = other.write_keys(v);
        }
    }
    v.extend_from_slice(b",\"s\":[");
}

/// The span's offsets after [`push_location`], closing the head: `start,end]`.
#[inline(always)]
pub(crate) fn push_span(v: &mut Vec<u8>, span: [usize; 2]) {
    push_u64(v, span[0] as u64);
    v.push(b',');
    push_u64(v, span[1] as u64);
    v.push(b']');
}

/// The rest of a log line after its span (kind, detector, confidence, `rule` if any, newline),
/// as [`LogEntry::write_json_line`] writes it (`rule` `None`: as the header says).
pub(crate) fn push_tail(
    v: &mut Vec<u8>,
    kind: EntityKind,
    detector: &str,
    confidence: Confidence,
    rule: Option<(&str, &str, bool)>,
) {
    // Writing to a Vec cannot fail.
    let _ = write_tail(v, kind, detector, confidence, rule);
}

/// The end of a line: kind, detector, confidence, and the rule where it differs from the header.
fn write_tail<W: std::io::Write>(
    w: &mut W,
    kind: EntityKind,
    detector: &str,
    confidence: Confidence,
    rule: Option<(&str, &str, bool)>,
) -> std::io::Result<()> {
    w.write_all(b",\"k\":\"")?;
    w.write_all(kind.as_str().as_bytes())?;
    w.write_all(b"\",\"d\":")?;
    write_json_str(w, detector)?;
    w.write_all(b",\"c\":\"")?;
    w.write_all(confidence_name(confidence).as_bytes())?;
    w.write_all(b"\"")?;
    if let Some((action, cite, counsel)) = rule {
        w.write_all(b",\"a\":")?;
        write_json_str(w, action)?;
        w.write_all(b",\"x\":")?;
        write_json_str(w, cite)?;
        w.write_all(if counsel {
            b",\"cr\":true"
        } else {
            b",\"cr\":false"
        })?;
    }
    w.write_all(b"}\n")
}

fn confidence_name(c: Confidence) -> &'static str {
    match c {
        Confidence::Possible => "possible",
        Confidence::Likely => "likely",
        Confidence::VeryLikely => "very_likely",
    }
}

/// The legend of the short keys, written in each header so the attachment explains itself.
const KEYS_LEGEND: &str = r#"{"l":"1-based line (text; JSON Lines line; line on a PDF page)","pg":"1-based PDF page","r":"1-based data row","col":"column header","rows":"first and last 1-based data rows of a run of whole cells","n":"cells in the run","p":"JSON Pointer","sh":"sheet","cell":"cell reference","s":"byte offsets [start, end] of the redacted text in the field, or whole_cell","k":"kind","d":"detector","c":"confidence","a":"action (when not the header's for the kind)","x":"exemption (when not the header's for the kind)","cr":"flagged for counsel's review (when not the header's for the kind)"}"#;

/// Writes the header line that precedes a file's redaction lines: file name, format, policy,
/// and per kind the exemption, action and counsel flag every redaction of it was made under.
pub fn write_file_header<W: std::io::Write>(
    w: &mut W,
    redactor: &Redactor,
    file: &str,
    format: &str,
) -> std::io::Result<()> {
    w.write_all(b"{\"log_format\":")?;
    write_u64(w, u64::from(LOG_FORMAT))?;
    w.write_all(b",\"file\":")?;
    write_json_str(w, file)?;
    w.write_all(b",\"format\":")?;
    write_json_str(w, format)?;
    w.write_all(b",\"policy\":")?;
    write_json_str(w, &redactor.policy().id)?;
    w.write_all(b",\"kinds\":{")?;
    let mut first = true;
    for kind in EntityKind::ALL {
        let Some((action, cite, counsel)) = redactor.kind_rule(kind) else {
            continue;
        };
        if action == crate::policy::Action::Keep {
            continue;
        }
        if !first {
            w.write_all(b",")?;
        }
        first = false;
        w.write_all(b"\"")?;
        w.write_all(kind.as_str().as_bytes())?;
        w.write_all(b"\":{\"exemption\":")?;
        write_json_str(w, cite)?;
        w.write_all(b",\"action\":")?;
        write_json_str(w, action.as_str())?;
        w.write_all(if counsel {
            b",\"counsel_review\":true}"
        } else {
            b",\"counsel_review\":false}"
        })?;
    }
    w.write_all(b"},\"confidence_scores\":{")?;
    for (i, c) in [
        Confidence::Possible,
        Confidence::Likely,
        Confidence::VeryLikely,
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            w.write_all(b",")?;
        }
        write_json_str(w, confidence_name(c))?;
        w.write_all(b":")?;
        serde_json::to_writer(&mut *w, &c.score()).map_err(std::io::Error::from)?;
    }
    w.write_all(b"},\"keys\":")?;
    w.write_all(KEYS_LEGEND.as_bytes())?;
    w.write_all(b"}\n")
}

/// A JSON string as serde_json writes it; most strings here (file names, headers, pointers,
/// citations) need no escape and are copied as they are.
fn write_json_str<W: std::io::Write>(w: &mut W, s: &str) -> std::io::Result<()> {
    if !crate::detect::bytes::has_json_escape(s.as_bytes()) {
        w.write_all(b"\"")?;
        w.write_all(s.as_bytes())?;
        return w.write_all(b"\"");
    }
    serde_json::to_writer(&mut *w, s).map_err(std::io::Error::from)
}

/// [`write_json_str`] into a Vec, with one copy for a string that needs no escape.
#[inline]
fn push_json_str(v: &mut Vec<u8>, s: &str) {
    if !crate::detect::bytes::has_json_escape(s.as_bytes()) {
        push_quoted(v, s);
    } else {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *v, s);
    }
}

/// `s`, which needs no escape, as a JSON string: its bytes between quotes.
#[inline(always)]
fn push_quoted(v: &mut Vec<u8>, s: &str) {
    v.reserve(s.len() + 2);
    v.push(b'"');
    v.extend_from_slice(s.as_bytes());
    v.push(b'"');
}

/// Decimal digits of `n` without the formatting machinery.
fn write_u64<W: std::io::Write>(w: &mut W, n: u64) -> std::io::Result<()> {
    let mut buf = [0u8; 20];
    w.write_all(digits(n, &mut buf))
}

/// The two decimal digits of each number below 100, one after another.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
                            2021222324252627282930313233343536373839\
                            4041424344454647484950515253545556575859\
                            6061626364656667686970717273747576777879\
                            8081828384858687888990919293949596979899";

/// The two digits of `n` (below 100) from [`PAIRS`].
#[inline(always)]
fn pair(n: u64) -> [u8; 2] {
    let d = (n % 100) as usize * 2;
    [PAIRS[d], PAIRS[d + 1]]
}

/// The decimal digits of `n`, two at a time, at the end of `buf`.
#[inline]
fn digits(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    while n >= 100 {
        i -= 2;
        buf[i..i + 2].copy_from_slice(&pair(n));
        n /= 100;
    }
    if n >= 10 {
        i -= 2;
        buf[i..i + 2].copy_from_slice(&pair(n));
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    &buf[i..]
}

/// Appends the decimal digits of `n` to `v`. A log line's numbers (its line, its span's two
/// offsets) have one to six digits: each such length is one append of a fixed size, inlined,
/// where the digit loop and a `memcpy` call for a few bytes cost about 50 instructions a number
/// (three a log line). Longer numbers go through [`digits`]. Inlined into each caller: as a call
/// of its own it saved and restored six registers a number.
#[inline(always)]
pub(crate) fn push_u64(v: &mut Vec<u8>, n: u64) {
    if n < 10 {
        v.push(b'0' + n as u8);
    } else if n < 100 {
        v.extend_from_slice(&pair(n));
    } else if n < 10_000 {
        let (hi, lo) = (pair(n / 100), pair(n));
        if n < 1_000 {
            v.extend_from_slice(&[hi[1], lo[0], lo[1]]);
        } else {
            v.extend_from_slice(&[hi[0], hi[1], lo[0], lo[1]]);
        }
    } else if n < 1_000_000 {
        let top = pair(n / 10_000);
        let (mid, lo) = (pair(n / 100), pair(n));
        if n < 100_000 {
            v.extend_from_slice(&[top[1], mid[0], mid[1], lo[0], lo[1]]);
        } else {
            v.extend_from_slice(&[top[0], top[1], mid[0], mid[1], lo[0], lo[1]]);
        }
    } else {
        push_long(v, n);
    }
}

/// [`push_u64`] for seven digits or more: out of line, as they are rare.
#[cold]
#[inline(never)]
fn push_long(v: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    v.extend_from_slice(digits(n, &mut buf));
}

/// Consecutive rows `rows[0]..=rows[1]` of one table column whose cells were each redacted
/// whole (their trimmed extent), with the same kind, action, detector and confidence.
#[derive(Debug, Clone)]
pub struct ColumnRunEntry<'a> {
    /// Column header.
    pub column: &'a str,
    /// First and last 1-based data row.
    pub rows: [u64; 2],
    /// What kind of data.
    pub kind: EntityKind,
    /// Detector (`column`: the column's classification).
    pub detector: &'static str,
    /// Discrete confidence.
    pub confidence: Confidence,
    /// Action, full exemption cite and counsel flag, when they differ from the file header's.
    pub rule: Option<(&'static str, &'a str, bool)>,
}

impl ColumnRunEntry<'_> {
    /// Writes the run as one JSON line: `{"col":..,"rows":[first,last],"n":cells,
    /// "s":"whole_cell","k":..,"d":..,"c":..}`.
    pub fn write_json_line<W: std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b"{\"col\":")?;
        write_json_str(w, self.column)?;
        w.write_all(b",\"rows\":[")?;
        write_u64(w, self.rows[0])?;
        w.write_all(b",")?;
        write_u64(w, self.rows[1])?;
        w.write_all(b"],\"n\":")?;
        write_u64(w, self.rows[1] + 1 - self.rows[0])?;
        w.write_all(b",\"s\":\"whole_cell\"")?;
        write_tail(w, self.kind, self.detector, self.confidence, self.rule)
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
    use crate::policy::Policy;

    /// `push_u64` writes what `to_string` does: every number up to two million (each length and
    /// each boundary of its fixed-size appends), then powers of ten and their neighbours up to
    /// `u64::MAX`, each after bytes already in the vector.
    #[test]
    fn pushed_numbers_are_their_decimal_digits() {
        let mut numbers: Vec<u64> = (0..2_000_000).collect();
        for p in 0..20 {
            let t = 10u64.pow(p);
            numbers.extend([t - 1, t, t + 1, t.saturating_mul(7)]);
        }
        numbers.extend([u64::MAX - 1, u64::MAX]);
        let mut v = Vec::new();
        for n in numbers {
            v.clear();
            v.push(b'[');
            push_u64(&mut v, n);
            assert_eq!(&v[1..], n.to_string().as_bytes(), "{n}");
        }
    }

    /// Every line is valid JSON with the documented keys, strings escaped as serde does.
    #[test]
    fn lines_are_json_with_short_keys() {
        let redactor = Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap();
        let locations = [
            (Location::Line { line: 3 }, serde_json::json!({"l": 3})),
            (
                Location::Cell {
                    row: 2,
                    column: "Home \"Address\"",
                },
                serde_json::json!({"r": 2, "col": "Home \"Address\""}),
            ),
            (
                Location::Json {
                    line: 1,
                    pointer: "/a~1b/0",
                },
                serde_json::json!({"l": 1, "p": "/a~1b/0"}),
            ),
            (
                Location::Page { page: 2, line: 9 },
                serde_json::json!({"pg": 2, "l": 9}),
            ),
            (
                Location::Sheet {
                    sheet: "Hoja 1",
                    cell: "C12",
                },
                serde_json::json!({"sh": "Hoja 1", "cell": "C12"}),
            ),
        ];
        let confidences = [
            Confidence::Possible,
            Confidence::Likely,
            Confidence::VeryLikely,
        ];
        for (i, (location, keys)) in locations.into_iter().enumerate() {
            let confidence = confidences[i % 3];
            let rule = (i % 2 == 0).then_some(("label", "5 ILCS 140/7(1)(b)", true));
            let entry = LogEntry {
                location,
                kind: EntityKind::ANumber,
                detector: "pattern.a_number",
                span: [4, 15 + i * 1000],
                confidence,
                rule,
            };
            let mut line = Vec::new();
            entry.write_json_line(&mut line).unwrap();
            assert_eq!(line.last(), Some(&b'\n'));
            let got: serde_json::Value = serde_json::from_slice(&line).unwrap();
            let mut want = keys.as_object().unwrap().clone();
            want.insert("s".into(), serde_json::json!([4, 15 + i * 1000]));
            want.insert("k".into(), "A_NUMBER".into());
            want.insert("d".into(), "pattern.a_number".into());
            want.insert("c".into(), serde_json::to_value(confidence).unwrap());
            if rule.is_some() {
                want.insert("a".into(), "label".into());
                want.insert("x".into(), "5 ILCS 140/7(1)(b)".into());
                want.insert("cr".into(), true.into());
            }
            assert_eq!(got, serde_json::Value::Object(want));
        }
        let mut header = Vec::new();
        write_file_header(&mut header, &redactor, "r\u{e9}port \"1\".csv", "csv").unwrap();
        let h: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(h["log_format"], 2);
        assert_eq!(h["file"], "r\u{e9}port \"1\".csv");
        assert_eq!(h["policy"], "foia-general");
        assert_eq!(
            h["kinds"]["SSN"]["exemption"],
            redactor.full_cite(EntityKind::Ssn)
        );
        assert_eq!(h["kinds"]["SSN"]["action"], "label");
        assert_eq!(h["kinds"]["PLACE_OF_BIRTH"]["counsel_review"], true);
        assert_eq!(h["confidence_scores"]["very_likely"], 0.97);
        assert_eq!(header.iter().filter(|&&b| b == b'\n').count(), 1);
    }
}
