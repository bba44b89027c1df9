//! JSON and JSON Lines, nested: keys classify their values like column headers (a value under
//! `"ssn"` is an SSN whole; under `"narrative"` it is scanned); each JSON Lines line, or each
//! element of a top-level JSON array, is one record for propagation. Key order in the output is
//! sorted, however serde_json was built (see [`Node`]); values and structure are unchanged.

use std::borrow::Cow;
use std::io::{BufRead, Read, Write};
use std::ops::Range;

use rayon::prelude::*;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::text::read_line_limited;
use super::{batch_len, FileReport, FormatError, LogBatch, Sink, BATCH_BYTES, MAX_LINE_BYTES};
use crate::columns::{classify_header, classify_header_cached, hint_for, ColumnRole};
use crate::log::Location;
use crate::redactor::{FieldRole, Redactor};

#[path = "json_array.rs"]
mod array;
#[path = "json_fast.rs"]
mod fast;

/// Largest JSON document read whole (one whose top level is not an array), and largest element
/// of a top-level array (streamed element by element). JSON Lines has no limit but the per-line
/// one.
pub const MAX_JSON_BYTES: u64 = 1024 * 1024 * 1024;

/// The string (and number) leaves of one record, in document order: their JSON Pointers (one
/// buffer, ranges into it), texts (borrowed from the parsed value) and roles.
#[derive(Default)]
struct Leaves<'v> {
    pointers: String,
    items: Vec<(Range<usize>, Cow<'v, str>, FieldRole)>,
    /// No pointer needs an escape in JSON: the log writes them without testing each.
    plain_pointers: bool,
}

fn push_escaped_key(pointer: &mut String, key: &str) {
    pointer.push('/');
    // By bytes: the same test as `contains(['~', '/'])` (ASCII never occurs inside a multi-byte
    // character), without decoding characters, eight bytes at a time.
    if crate::detect::bytes::has_either(key.as_bytes(), b'~', b'/') {
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

/// The role of a member whose key has role `own`, inside a value with role `inherited`: a key
/// that names a kind wins; otherwise the parent's kind carries down ("address": {"street": ..}).
fn member_role(own: ColumnRole, inherited: Option<ColumnRole>) -> Option<ColumnRole> {
    match (own, inherited) {
        (ColumnRole::Entity(_), _) => Some(own),
        (_, Some(ColumnRole::Entity(_))) => inherited,
        _ => Some(own),
    }
}

fn collect<'v>(
    value: &'v Node<'_>,
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
        Node::String(s) => leaf(out, Cow::Borrowed(s)),
        Node::Number(n) => leaf(out, Cow::Owned(n.to_string())),
        Node::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                push_index(pointer, i);
                collect(item, pointer, inherited, out);
                pointer.truncate(len);
            }
        }
        Node::Object(members) => {
            for (k, v) in members {
                let role = member_role(classify_header_cached(k), inherited);
                let len = pointer.len();
                push_escaped_key(pointer, k);
                collect(v, pointer, role, out);
                pointer.truncate(len);
            }
        }
        Node::Bool(_) | Node::Null => {}
    }
}

/// Puts the redacted texts back, visiting leaves in the order `collect` did.
fn replace(value: &mut Node<'_>, texts: &mut impl Iterator<Item = Option<String>>) {
    match value {
        Node::String(_) | Node::Number(_) => {
            if let Some(Some(t)) = texts.next() {
                *value = Node::String(Cow::Owned(t));
            }
        }
        Node::Array(items) => {
            for item in items {
                replace(item, texts);
            }
        }
        Node::Object(members) => {
            for (_, v) in members.iter_mut() {
                replace(v, texts);
            }
        }
        Node::Bool(_) | Node::Null => {}
    }
}

/// A parsed JSON value that borrows its strings and keys from the input where they have no
/// escape (a `serde_json::Value` allocates a `String` for each and a B-tree per object, and
/// freeing them was as costly as parsing). It is written exactly as the `Value` of the same text
/// is: numbers go through [`Number`] (so `1.50` is written `1.5`, as before), strings through
/// serde_json's escaping, and each object's members are sorted by key with the last of equal
/// keys kept, as a `Value` built without `preserve_order` has them; so the output does not
/// depend on whether another crate of the build turns that feature on (the bench crate's Cedar
/// does, under `cargo build --workspace`). One input is read differently: an object whose key is
/// serde_json's private raw-value token stays an object (a `Value`, with the `raw_value` feature
/// the workspace turns on, parsed the string under it as JSON, or refused the line).
#[derive(Debug, Clone, PartialEq)]
enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    /// Sorted by key, keys unique.
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

/// Sorts an object's members by key (byte order, as `String`'s `Ord`); of equal keys the last
/// one's value is kept, as inserting them one by one into a map does.
fn sorted_members<'a>(mut members: Vec<(Cow<'a, str>, Node<'a>)>) -> Node<'a> {
    // Stable: equal keys stay in input order, so the last of a run is the last in the input.
    members.sort_by(|a, b| a.0.cmp(&b.0));
    members.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            std::mem::swap(&mut later.1, &mut kept.1);
        }
        same
    });
    Node::Object(members)
}

impl From<Value> for Node<'_> {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(b),
            Value::Number(n) => Node::Number(n),
            Value::String(s) => Node::String(Cow::Owned(s)),
            Value::Array(items) => Node::Array(items.into_iter().map(Node::from).collect()),
            Value::Object(map) => sorted_members(
                map.into_iter()
                    .map(|(k, v)| (Cow::Owned(k), Node::from(v)))
                    .collect(),
            ),
        }
    }
}

/// A string or key, borrowed from the input when it has no escape.
struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for StrSeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// Builds a [`Node`] from what the parser reports, as `Value`'s own visitor builds a `Value`.
struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Node::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        Ok(Number::from_f64(n).map_or(Node::Null, Node::Number))
    }
    // A string value is taken as a key is: borrowed when it has no escape.
    fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        StrSeed.visit_borrowed_str(s).map(Node::String)
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
        StrSeed.visit_str(s).map(Node::String)
    }
    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Self::Value, E> {
        StrSeed.visit_string(s).map(Node::String)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // serde_json gives no size hint; most objects of records have a handful of keys.
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key_seed(StrSeed)? {
            members.push((key, map.next_value()?));
        }
        Ok(sorted_members(members))
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

/// Written as `Value`'s `Serialize` writes a value (the same calls, so the same bytes, compact
/// or pretty).
impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Number(n) => n.serialize(s),
            Node::String(text) => s.serialize_str(text),
            Node::Array(items) => items.serialize(s),
            Node::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
        }
    }
}

/// Parses one JSON text into a [`Node`]. Through a `Value` instead when this build's serde_json
/// reports numbers otherwise than as plain numbers (its `arbitrary_precision` feature, turned on
/// by some crate of the same build): checked once per process on a probe text, so the output is
/// the `Value`'s whatever the features.
fn parse(text: &str) -> Result<Node<'_>, serde_json::Error> {
    if direct() {
        serde_json::from_str(text)
    } else {
        serde_json::from_str::<Value>(text).map(Node::from)
    }
}

/// Whether [`parse`] reads texts straight into a [`Node`] in this build (see there).
fn direct() -> bool {
    static DIRECT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DIRECT.get_or_init(|| {
        const PROBE: &str =
            r#"{"b":[1,-2,3.50,1e3,18446744073709551615,-0,0.1e-2],"a":"\u00e9","a":{}}"#;
        let node = serde_json::from_str::<Node>(PROBE).and_then(|n| serde_json::to_string(&n));
        let value = serde_json::from_str::<Value>(PROBE).and_then(|v| {
            let mut v = v;
            v.sort_all_objects();
            serde_json::to_string(&v)
        });
        matches!((node, value), (Ok(a), Ok(b)) if a == b)
    })
}

/// Redacts one JSON value (one record) in place, adding its log lines to `log`; `prefix` is the
/// record's own pointer inside the document ("" for a JSON Lines line).
fn redact_value(
    redactor: &Redactor,
    value: &mut Node<'_>,
    file: &str,
    line: u64,
    prefix: &str,
    log: &mut LogBatch,
) {
    let (leaf_hint, pointer_hint) = LEAF_SIZES.with(|s| s.get());
    let texts: Vec<Option<String>> = {
        let mut leaves = Leaves {
            pointers: String::with_capacity(pointer_hint),
            items: Vec::with_capacity(leaf_hint),
            plain_pointers: false,
        };
        let mut pointer = String::with_capacity(64);
        pointer.push_str(prefix);
        collect(value, &mut pointer, None, &mut leaves);
        // One escape test for all the record's pointers, not one per leaf logged.
        leaves.plain_pointers = !crate::detect::bytes::has_json_escape(leaves.pointers.as_bytes());
        LEAF_SIZES.with(|s| s.set((leaves.items.len(), leaves.pointers.len())));
        // Owned: the leaves borrow `value`, which `replace` then changes.
        redact_leaves(redactor, &leaves, file, line, log)
            .into_iter()
            .map(|t| t.map(Cow::into_owned))
            .collect()
    };
    if texts.iter().any(Option::is_some) {
        replace(value, &mut texts.into_iter());
    }
}

// Records of one file are alike: sized from the last record on this thread, the buffers do not
// grow leaf by leaf.
thread_local! {
    static LEAF_SIZES: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

/// Redacts one record's leaves together and logs them; the redacted text of each leaf that
/// changed (both paths, tree and [`fast`], go through here). Borrowed where the redaction left it
/// borrowed (a whole-leaf label, most redacted leaves): the fast path writes it out at once, and a
/// `String` per redacted leaf was an allocation, a copy and a free.
fn redact_leaves<'a>(
    redactor: &'a Redactor,
    leaves: &'a Leaves<'_>,
    file: &str,
    line: u64,
    log: &mut LogBatch,
) -> Vec<Option<Cow<'a, str>>> {
    let fields: Vec<(&str, FieldRole)> = leaves
        .items
        .iter()
        .map(|(_, text, role)| (text.as_ref(), *role))
        .collect();
    let mut redacted = redactor.redact_record(&fields);
    let located = leaves
        .items
        .iter()
        .zip(&redacted)
        .map(|((range, original, _), field)| {
            let pointer = &leaves.pointers[range.clone()];
            (original.as_ref(), field, Location::Json { line, pointer })
        });
    log.fields_at(redactor, file, located, leaves.plain_pointers);
    let texts = redacted
        .iter_mut()
        .map(|f| (!f.applied.is_empty()).then(|| std::mem::take(&mut f.text)))
        .collect();
    redactor.recycle(redacted);
    texts
}

fn error_category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "data error",
        serde_json::error::Category::Eof => "unexpected end of input",
    }
}

fn json_error(file: &str, line: u64, e: &serde_json::Error) -> FormatError {
    FormatError::Json {
        file: file.to_string(),
        line: line + e.line() as u64 - 1,
        column: e.column() as u64,
        category: error_category(e),
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
    let Some(text) = line_text(file, line, bytes)? else {
        out.push(b'\n');
        return Ok(false);
    };
    // The fast path reproduces `Node`'s reading of numbers only (not a `Value`'s under
    // `arbitrary_precision`).
    if direct() && fast::redact(redactor, file, line, text, out, log)? {
        out.push(b'\n');
    } else {
        redact_tree_line(redactor, file, line, text, out, log)?;
    }
    Ok(true)
}

/// A line's text without its line end; `None` when it is blank.
fn line_text<'b>(file: &str, line: u64, bytes: &'b [u8]) -> Result<Option<&'b str>, FormatError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FormatError::InvalidUtf8 {
        file: file.to_string(),
        line,
        offset: e.valid_up_to() as u64,
    })?;
    let text = text.trim_end_matches(['\n', '\r']);
    Ok((!text.trim().is_empty()).then_some(text))
}

/// One line (not blank) through the tree, which takes any JSON and reports every error, into
/// `out` with its newline.
fn redact_tree_line(
    redactor: &Redactor,
    file: &str,
    line: u64,
    text: &str,
    out: &mut Vec<u8>,
    log: &mut LogBatch,
) -> Result<(), FormatError> {
    let mut value = parse(text).map_err(|e| json_error(file, line, &e))?;
    redact_value(redactor, &mut value, file, line, "", log);
    serde_json::to_writer(&mut *out, &value).map_err(|e| FormatError::io(file, e.into()))?;
    out.push(b'\n');
    Ok(())
}

/// A run of records as a parallel task leaves it: its output, its log lines, how many records
/// it held, and the error that stopped it, if one did.
type Run = (Vec<u8>, LogBatch, u64, Option<FormatError>);

/// Writes runs' output and log lines in order, up to and including the first run that failed
/// (what came before the bad record is kept; the release discards it all anyway).
fn write_runs<W: Write>(
    runs: Vec<Run>,
    output: &mut W,
    file: &str,
    sink: &mut dyn Sink,
    report: &mut FileReport,
) -> Result<(), FormatError> {
    for (out, mut log, records, error) in runs {
        log.flush(file, sink, report)?;
        output
            .write_all(&out)
            .map_err(|e| FormatError::io(file, e))?;
        report.records += records;
        if let Some(e) = error {
            return Err(e);
        }
    }
    Ok(())
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
        let done: Vec<Run> = batch
            .par_chunks(LINES_PER_TASK)
            .map(|lines| {
                let bytes: usize = lines.iter().map(|(_, b)| b.len()).sum();
                let mut out = Vec::with_capacity(bytes + 64 * lines.len());
                let mut log = LogBatch::for_input(bytes);
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
        write_runs(done, &mut output, file, sink, &mut report)?;
        progress(report.bytes);
    }
    output.flush().map_err(|e| FormatError::io(file, e))?;
    Ok(report)
}

/// Redacts a JSON document. A top-level array is a list of records, streamed element by element
/// (memory bounded per batch, as for JSON Lines; see `json_array.rs`); any other document is one
/// record, read whole (up to [`MAX_JSON_BYTES`]).
pub fn redact_document<R: BufRead, W: Write>(
    redactor: &Redactor,
    input: R,
    output: W,
    file: &str,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64),
) -> Result<FileReport, FormatError> {
    redact_document_in(redactor, input, output, file, sink, progress, BATCH_BYTES)
}

/// [`redact_document`] with the batch size as a parameter (tests make it small).
fn redact_document_in<R: BufRead, W: Write>(
    redactor: &Redactor,
    mut input: R,
    output: W,
    file: &str,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64),
    batch_bytes: usize,
) -> Result<FileReport, FormatError> {
    // The white space before the first value, kept for the whole-document path (its errors
    // count lines from the file's start); past the size limit that path refuses the file anyway.
    let mut lead = Vec::new();
    let first = loop {
        let chunk = input.fill_buf().map_err(|e| FormatError::io(file, e))?;
        let spaces = chunk
            .iter()
            .take_while(|&&b| array::is_json_space(b))
            .count();
        let first = chunk.get(spaces).copied();
        lead.extend_from_slice(&chunk[..spaces]);
        input.consume(spaces);
        if first.is_some() || spaces == 0 || lead.len() as u64 > MAX_JSON_BYTES {
            break first;
        }
    };
    if first == Some(b'[') {
        let pos = array::Pos::after(&lead);
        return array::redact(
            redactor,
            input,
            pos,
            output,
            file,
            sink,
            progress,
            batch_bytes,
        );
    }
    redact_whole(
        redactor,
        std::io::Cursor::new(lead).chain(input),
        output,
        file,
        sink,
    )
}

/// Redacts a whole JSON document whose top level is not an array (an array is streamed), read
/// into memory (up to [`MAX_JSON_BYTES`]), as one record.
fn redact_whole<R: Read, W: Write>(
    redactor: &Redactor,
    input: R,
    mut output: W,
    file: &str,
    sink: &mut dyn Sink,
) -> Result<FileReport, FormatError> {
    let bytes = super::read_bounded(input, MAX_JSON_BYTES, file, || {
        format!("JSON document larger than {MAX_JSON_BYTES} bytes; convert it to JSON Lines (one record per line) for streaming, or make its top level an array (streamed element by element)")
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = 1 + memchr::memchr_iter(b'\n', &bytes[..e.valid_up_to()]).count() as u64;
        FormatError::InvalidUtf8 {
            file: file.to_string(),
            line,
            offset: e.valid_up_to() as u64,
        }
    })?;
    let mut doc = parse(text).map_err(|e| json_error(file, 1, &e))?;
    let mut report = FileReport {
        file: file.to_string(),
        format: "json".into(),
        bytes: bytes.len() as u64,
        ..Default::default()
    };
    let mut log = LogBatch::default();
    redact_value(redactor, &mut doc, file, 1, "", &mut log);
    report.records = 1;
    log.flush(file, sink, &mut report)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What the code before [`Node`] wrote: the text parsed into a `Value`, keys sorted.
    fn through_value(text: &str, pretty: bool) -> String {
        let mut v: Value = serde_json::from_str(text).unwrap();
        v.sort_all_objects();
        if pretty {
            serde_json::to_string_pretty(&v).unwrap()
        } else {
            serde_json::to_string(&v).unwrap()
        }
    }

    /// A `Node` is written byte for byte as the `Value` of the same text: numbers normalised the
    /// same way, the same escapes, keys sorted by bytes, the last of duplicate keys kept; parsed
    /// directly or through a `Value` (the fallback).
    #[test]
    fn node_writes_what_value_writes() {
        let texts = [
            r#"{"b":1,"a":2,"B":3,"é":4,"ab":5,"a b":6,"":7,"a\nb":8,"\u00e9":9}"#,
            r#"{"n":[0,-0,1.50,1e3,1E+2,-1.5e-7,18446744073709551615,-9223372036854775808,18446744073709551616,1.7976931348623157e308,5e-324,0.1,123456789012345678901234567890]}"#,
            r#"{"s":["plain","q\"uote","back\\slash","nl\n","tab\t","ctl\u0001","\u00e9t\u00e9","é","\ud83d\ude00","a\/b","\u2028"]}"#,
            r#"{"k":1,"k":{"z":1,"z":[2]},"j":null,"k":{"y":true,"y":false}}"#,
            r#"[{},[],{"a":[]},[[{}]],null,true,false,"",0]"#,
            r#"  {"deep":{"a":{"b":{"c":[1,{"d":"e"}]}}}, "x" : "y" }  "#,
            r#""a lone string""#,
            "3.0",
        ];
        for text in texts {
            for pretty in [false, true] {
                let want = through_value(text, pretty);
                let write = |n: &Node| {
                    if pretty {
                        serde_json::to_string_pretty(n).unwrap()
                    } else {
                        serde_json::to_string(n).unwrap()
                    }
                };
                let direct: Node = serde_json::from_str(text).unwrap();
                assert_eq!(write(&direct), want, "{text}");
                let fallback = Node::from(serde_json::from_str::<Value>(text).unwrap());
                assert_eq!(write(&fallback), want, "{text}");
                assert_eq!(write(&parse(text).unwrap()), want, "{text}");
            }
        }
        // Malformed input is refused as a `Value` refuses it.
        for bad in [r#"{"a":1,}"#, "[1 2]", r#"{"a"}"#, "", "1e400", "{} x"] {
            let v = serde_json::from_str::<Value>(bad).map(|_| ()).unwrap_err();
            let n = parse(bad).map(|_| ()).unwrap_err();
            assert_eq!(
                (n.classify(), n.line(), n.column()),
                (v.classify(), v.line(), v.column())
            );
        }
    }

    /// serde_json's private raw-value key is an ordinary key here (a `Value` built with the
    /// workspace's `raw_value` feature would parse the string under it as JSON instead).
    #[test]
    fn private_raw_value_key_is_kept() {
        let text = r#"{"$serde_json::private::RawValue":"[1,2]"}"#;
        let node: Node = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&node).unwrap(), text);
    }

    /// Strings and keys without escapes borrow from the input (the point of `Node`).
    #[test]
    fn unescaped_strings_are_borrowed() {
        let node: Node = serde_json::from_str(r#"{"key":"value","esc":"a\nb"}"#).unwrap();
        let Node::Object(members) = node else {
            panic!("an object");
        };
        let borrowed: Vec<(bool, bool)> = members
            .iter()
            .map(|(k, v)| {
                let v = matches!(v, Node::String(Cow::Borrowed(_)));
                (matches!(k, Cow::Borrowed(_)), v)
            })
            .collect();
        // Sorted: "esc" then "key".
        assert_eq!(borrowed, [(true, false), (true, true)]);
    }

    // ---- The fast path (`fast`) against the tree path. ----

    use crate::formats::MemorySink;
    use crate::Policy;

    fn redactor() -> Redactor {
        Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap()
    }

    /// Everything one line produces: output, log, review list, report, error; and whether the
    /// fast path takes it. `tree` sends it through the tree path alone.
    fn run_line(redactor: &Redactor, line: u64, bytes: &[u8], tree: bool) -> (String, bool) {
        let mut out = Vec::new();
        let mut log = LogBatch::default();
        let result = if tree {
            line_text("t.jsonl", line, bytes).and_then(|text| match text {
                None => {
                    out.push(b'\n');
                    Ok(false)
                }
                Some(text) => redact_tree_line(redactor, "t.jsonl", line, text, &mut out, &mut log)
                    .map(|()| true),
            })
        } else {
            redact_line(redactor, "t.jsonl", line, bytes, &mut out, &mut log)
        };
        let mut sink = MemorySink::default();
        let mut report = FileReport::default();
        log.flush("t.jsonl", &mut sink, &mut report).unwrap();
        let all = format!(
            "out: {}\nlog: {}\nreview: {}\nreport: {report:?}\nresult: {result:?}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&sink.log),
            String::from_utf8_lossy(&sink.review),
        );
        (all, !tree && fast_takes(redactor, line, bytes))
    }

    /// Each log line's pointer is written as serde_json writes the string, in records whose
    /// pointers need escapes (keys with a quote, a backslash, a control character: the tree
    /// path) and in records whose pointers need none (the one escape test a record decides).
    #[test]
    fn log_pointers_are_escaped_as_serde_json() {
        let redactor = redactor();
        let mut escaped = 0;
        for text in [
            r#"{"q\"uote":{"ssn":"078-05-1120"},"ssn":"123-45-6789"}"#,
            r#"{"back\\slash":{"name":"John Smith"},"ssn":"123-45-6789"}"#,
            r#"{"a/b~c":{"ssn":"123-45-6789"},"ctl\u0001":{"phone":"312-555-0100"}}"#,
            r#"{"notes":"SSN 123-45-6789","ssn":"078-05-1120"}"#,
            r#"[{"ssn":"078-05-1120"},{"x\ty":{"ssn":"123-45-6789"}}]"#,
        ] {
            let (out, _) = run_line(&redactor, 3, text.as_bytes(), false);
            let log = out
                .split_once("\nlog: ")
                .and_then(|(_, rest)| rest.split_once("\nreview: "))
                .map(|(log, _)| log)
                .unwrap();
            assert!(log.lines().count() >= 2, "{text}: {log}");
            for line in log.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let p = v["p"].as_str().unwrap();
                let written = format!(",\"p\":{},", serde_json::to_string(p).unwrap());
                assert!(line.contains(&written), "{line}");
                escaped += usize::from(written.contains('\\'));
            }
        }
        assert!(escaped >= 4, "{escaped}");
    }

    /// Whether [`redact_line`] sends the line through [`fast`] (run on throwaway buffers).
    fn fast_takes(redactor: &Redactor, line: u64, bytes: &[u8]) -> bool {
        let (mut out, mut log) = (Vec::new(), LogBatch::default());
        matches!(line_text("t.jsonl", line, bytes), Ok(Some(text))
            if direct() && matches!(fast::redact(redactor, "t.jsonl", line, text, &mut out, &mut log), Ok(true)))
    }

    /// Runs `text` through both paths; asserts they agree; says whether the fast one was taken.
    fn same_both_ways(redactor: &Redactor, line: u64, text: &str) -> bool {
        let (tree, _) = run_line(redactor, line, text.as_bytes(), true);
        let (fast, taken) = run_line(redactor, line, text.as_bytes(), false);
        assert_eq!(fast, tree, "line {line}: {text}");
        taken
    }

    /// Every JSON Lines record of the corpus: the same results both ways, and the fast path is
    /// taken for (nearly) every record as serde_json writes it sorted.
    #[test]
    fn fast_path_matches_tree_on_corpus() {
        let redactor = redactor();
        let corpus = crate::corpus::generate(2026, 2000);
        let (mut taken, mut total) = (0, 0);
        let mut redacted_numbers_or_changes = 0;
        for (i, r) in corpus.json.iter().enumerate() {
            let mut value = r.to_json();
            // As the throughput example writes it (insertion order where another crate of the
            // build turns on `preserve_order`) ...
            same_both_ways(&redactor, i as u64 + 1, &value.to_string());
            // ... and sorted, which is what the example writes in this crate's own build.
            value.sort_all_objects();
            let text = value.to_string();
            total += 1;
            if same_both_ways(&redactor, i as u64 + 1, &text) {
                taken += 1;
            }
            let (out, _) = run_line(&redactor, 1, text.as_bytes(), false);
            redacted_numbers_or_changes += usize::from(!out.contains(&text));
        }
        assert!(total >= 900, "{total} records");
        assert!(
            taken * 100 >= total * 95,
            "fast path for {taken} of {total}"
        );
        // The corpus is redacted, not passed through.
        assert!(redacted_numbers_or_changes * 2 > total);
    }

    /// Reports as JSON Lines documents (as `redaction-corpus` writes `documents.jsonl`): their
    /// line breaks are `\n` escapes, which the fast path decodes.
    #[test]
    fn fast_path_matches_tree_on_documents_with_line_breaks() {
        let redactor = redactor();
        let corpus = crate::corpus::generate(2026, 600);
        let (mut taken, mut total, mut escaped) = (0, 0, 0);
        for (i, r) in corpus.texts.iter().enumerate() {
            let text: Vec<&str> = r.fields.iter().map(|f| f.text.as_str()).collect();
            let line = serde_json::json!({"id": i, "text": text.join("\n")}).to_string();
            total += 1;
            escaped += usize::from(line.contains('\\'));
            taken += usize::from(same_both_ways(&redactor, i as u64 + 1, &line));
        }
        assert!(
            total >= 200 && escaped * 2 > total,
            "{escaped} of {total} escaped"
        );
        assert!(
            taken * 100 >= total * 95,
            "fast path for {taken} of {total}"
        );
    }

    /// Lines at the edges: whether the fast path takes each, and the same results either way
    /// (errors included).
    #[test]
    fn edge_lines_fall_back_or_match() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let deep_objects = |n: usize| format!("{}\"ssn\"{}", "{\"a\":".repeat(n), "}".repeat(n));
        let table: Vec<(String, bool)> = [
            // Taken: already what the tree prints.
            (r#"{"name":"John Smith","ssn":"123-45-6789"}"#, true),
            (r#"{"ssn":123456789}"#, true),
            (r#"{"phone":3125550147,"zip":60601}"#, true),
            (r#"{"a":0,"b":-1,"c":18446744073709551615,"d":-9223372036854775808}"#, true),
            (r#"{}"#, true),
            (r#"[]"#, true),
            (r#"{"a":{},"b":[],"c":[{}],"d":[[]]}"#, true),
            (r#"{"people":[{"name":"Mary Jones","phone":"(312) 555-0147"},{"email":"mj@example.com","name":"Ann Lee"}]}"#, true),
            (r#"{"":"x","a/b":"Jane Doe","m~n":"SSN 123-45-6789","~/":"z"}"#, true),
            (r#"{"address":{"city":"Chicago","street":"1234 W Elm St"},"note":"José Müller, Straße 5, 東京"}"#, true),
            (r#"{"z":1,"é":2}"#, true),
            (r#"{"B":1,"a":2}"#, true),
            (r#"{"a":1,"ab":2}"#, true),
            ("{\"s\":\"del\u{7f} and\u{2028}line sep\"}", true),
            (r#"{"$serde_json::private::RawValue":"[1,2]"}"#, true),
            (r#""Call John Smith at 312-555-0147""#, true),
            ("123456789", true),
            ("true", true),
            ("null", true),
            (r#"[true,false,null,"",0]"#, true),
            // Fall back: not what the tree prints, or not JSON at all.
            (r#"{"a": "b"}"#, false),
            (r#" {"a":"b"}"#, false),
            (r#"{"a":"b"} "#, false),
            ("{\"a\":\"b\"}\t", false),
            (r#"{"b":"x","a":"y"}"#, false),
            (r#"{"é":2,"z":1}"#, false),
            (r#"{"ab":2,"a":1}"#, false),
            (r#"{"a":"x","a":"y"}"#, false),
            (r#"{"ssn":"123-45-6789","ssn":{"x":"John Smith"}}"#, false),
            // String values whose escapes are serde_json's own: taken.
            (r#"{"a":"say \"hi\" to John Smith"}"#, true),
            (r#"{"text":"ARRESTEE: GARCIA, JUAN\nSSN: 123-45-6789\n"}"#, true),
            (r#"{"a":"tab\tx\u0001y\\z\b\f\r\u001f\u0000"}"#, true),
            (r#"{"a":["\"","\\","x\ny"],"b":{"ssn":"123\n45\n6789"}}"#, true),
            // Escapes serde_json would not write, and escaped keys: not taken.
            (r#"{"a":"\u001F"}"#, false),
            (r#"{"a":"\u000a"}"#, false),
            (r#"{"a":"\u0020"}"#, false),
            (r#"{"a":"\u007f"}"#, false),
            (r#"{"a\"b":1}"#, false),
            (r#"{"a":"x\"}"#, false),
            (r#"{"a":"x\q"}"#, false),
            (r#"{"a":"x\u00"}"#, false),
            (r#"{"a":"caf\u00e9"}"#, false),
            (r#"{"a":"a\/b"}"#, false),
            (r#"{"a\u002fb":"x"}"#, false),
            (r#"{"a":"line\nbreak 123-45-6789"}"#, true),
            (r#"{"a":1.5}"#, false),
            (r#"{"a":1.50}"#, false),
            (r#"{"a":1e3}"#, false),
            (r#"{"a":1E+2}"#, false),
            (r#"{"a":-1.0}"#, false),
            (r#"{"a":18446744073709551616}"#, false),
            (r#"{"a":-9223372036854775809}"#, false),
            (r#"{"a":123456789012345678901234567890}"#, false),
            (r#"{"a":-0}"#, false),
            (r#"{"ssn":-0}"#, false),
            (r#"{"a":01}"#, false),
            (r#"{"a":-}"#, false),
            (r#"{"a":1,}"#, false),
            ("[1 2]", false),
            (r#"{"a"}"#, false),
            (r#"{"a":tru}"#, false),
            (r#"{"a":nulll}"#, false),
            (r#"{"a":"unterminated"#, false),
            (r#"{"a":1}x"#, false),
            (r#"{"a":1}}"#, false),
            (r#"{"a":1}{"b":2}"#, false),
            ("{\"a\":\"ctl\u{1}\"}", false),
            ("{\"a\":\"tab\there\"}", false),
            (r#"{"a":"\ud800"}"#, false),
            (r#"{'a':1}"#, false),
            ("{\"a\":1}\r\r", true),
        ]
        .into_iter()
        .map(|(t, fast)| (t.to_string(), fast))
        .chain([
            (deep(64), true),
            (deep(65), false),
            (deep(127), false),
            (deep(128), false),
            (deep(1000), false),
            (deep_objects(64), true),
            (deep_objects(65), false),
            (format!("{}1", "[".repeat(64)), false),
        ])
        .collect();
        let redactor = redactor();
        for (i, (text, fast)) in table.iter().enumerate() {
            assert_eq!(
                same_both_ways(&redactor, i as u64 + 3, text),
                *fast,
                "{text}"
            );
            // With its line end, as read from a file.
            for end in ["\n", "\r\n"] {
                let line = format!("{text}{end}");
                assert_eq!(same_both_ways(&redactor, 9, &line), *fast, "{text}");
            }
        }
        // A classified number redacted on the fast path becomes a string, as in the tree.
        let (out, fast) = run_line(&redactor, 1, br#"{"ssn":123456789}"#, false);
        assert!(fast && out.starts_with("out: {\"ssn\":\""), "{out}");
    }

    /// Labels that need escapes in JSON (a policy's exemption text is free): substituted on the
    /// fast path exactly as the tree path writes them.
    #[test]
    fn fast_path_escapes_labels_as_tree() {
        // Also every candidate below "very likely" is listed for review, not redacted: the
        // review list is not empty here (it is with the shipped policy on the corpus).
        let source = include_str!("../../../../policies/foia-general.toml")
            .replace(
                "exemption = \"7(1)(b)\"",
                "exemption = \"7(1)(b) \\\"q\\\" \\\\ \\t \\u0001 é\"",
            )
            .replace(
                "min_confidence = \"likely\"",
                "min_confidence = \"very_likely\"",
            );
        let redactor = Redactor::new(Policy::from_toml("escaped", &source).unwrap()).unwrap();
        let mut corpus = crate::corpus::generate(11, 400).json;
        corpus.truncate(150);
        let mut lines: Vec<String> = corpus
            .iter()
            .map(|r| {
                let mut v = r.to_json();
                v.sort_all_objects();
                v.to_string()
            })
            .collect();
        lines.extend(
            [
                r#"{"ssn":123456789}"#,
                r#"{"note":"SSN 123-45-6789 for John Smith","ssn":"123-45-6789"}"#,
                r#"["123-45-6789",{"ssn":"078-05-1120"}]"#,
            ]
            .map(String::from),
        );
        let (mut escaped, mut reviewed) = (0, 0);
        for (i, text) in lines.iter().enumerate() {
            assert!(same_both_ways(&redactor, i as u64 + 1, text), "{text}");
            let (out, _) = run_line(&redactor, 1, text.as_bytes(), false);
            escaped += usize::from(out.contains(r#"\"q\" \\ \t \u0001 é"#));
            reviewed += usize::from(!out.contains("\nreview: \nreport"));
        }
        assert!(escaped >= 3 && reviewed >= 20, "{escaped} {reviewed}");
    }

    /// A small random JSON value, for [`fast_path_matches_tree_on_random_values`].
    enum Gen {
        Null,
        Bool(bool),
        Number(String),
        String(String),
        Array(Vec<Gen>),
        Object(Vec<(String, Gen)>),
    }

    fn gen_value(rng: &mut crate::corpus::Rng, texts: &[String], depth: usize) -> Gen {
        const KEYS: &[&str] = &[
            "name",
            "ssn",
            "phone",
            "email",
            "address",
            "street",
            "dob",
            "narrative",
            "notes",
            "id",
            "case",
            "people",
            "officer",
            "a~b",
            "x/y",
            "~",
            "",
            "é",
            "Zeta",
            "z",
            "n",
        ];
        const NUMBERS: &[&str] = &[
            "0",
            "7",
            "-3",
            "123456789",
            "3125550147",
            "-0",
            "1.5",
            "1e3",
            "2E-2",
            "-1.0",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "4111111111111111",
            "99999999999999999999",
        ];
        let pick = if depth >= 4 {
            rng.below(4)
        } else {
            rng.below(7)
        };
        match pick {
            0 => match rng.below(4) {
                0 => Gen::Null,
                _ => Gen::Bool(rng.chance(0.5)),
            },
            1 => Gen::Number(if rng.chance(0.5) {
                rng.pick(NUMBERS).to_string()
            } else {
                let n = rng.next_u64() >> rng.below(64);
                if rng.chance(0.3) {
                    format!("-{}", n.max(1))
                } else {
                    n.to_string()
                }
            }),
            2 | 3 => Gen::String(rng.pick(texts).clone()),
            4 | 5 => Gen::Object(
                (0..rng.below(6))
                    .map(|_| (rng.pick(KEYS).to_string(), gen_value(rng, texts, depth + 1)))
                    .collect(),
            ),
            _ => Gen::Array(
                (0..rng.below(5))
                    .map(|_| gen_value(rng, texts, depth + 1))
                    .collect(),
            ),
        }
    }

    /// Writes `v` compactly; `canonical`: keys sorted and unique (the tree's order, the last of
    /// equal keys kept), otherwise sometimes not, with sometimes whitespace and needless escapes.
    fn write_gen(rng: &mut crate::corpus::Rng, v: &Gen, canonical: bool, out: &mut String) {
        let space = |rng: &mut crate::corpus::Rng, out: &mut String| {
            if !canonical && rng.chance(0.05) {
                let pads: [&str; 3] = [" ", "\t", "  "];
                let pad: &&str = rng.pick(&pads);
                out.push_str(pad);
            }
        };
        let string = |rng: &mut crate::corpus::Rng, s: &str, out: &mut String| {
            if !canonical && rng.chance(0.1) {
                // A needless escape of one character.
                out.push('"');
                let at = rng.below(s.chars().count() as u64 + 1) as usize;
                for (i, c) in s.chars().enumerate() {
                    if i == at && c.len_utf16() == 1 {
                        out.push_str(&format!("\\u{:04x}", c as u32));
                    } else {
                        let escaped = serde_json::to_string(&c.to_string()).unwrap();
                        out.push_str(&escaped[1..escaped.len() - 1]);
                    }
                }
                out.push('"');
            } else {
                out.push_str(&serde_json::to_string(s).unwrap());
            }
        };
        space(rng, out);
        match v {
            Gen::Null => out.push_str("null"),
            Gen::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Gen::Number(n) => out.push_str(n),
            Gen::String(s) => string(rng, s, out),
            Gen::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_gen(rng, item, canonical, out);
                }
                out.push(']');
            }
            Gen::Object(members) => {
                let mut order: Vec<&(String, Gen)> = members.iter().collect();
                if canonical {
                    // Stable: of equal keys the last stays last, and is the one kept.
                    order.sort_by(|a, b| a.0.cmp(&b.0));
                    let mut kept: Vec<&(String, Gen)> = Vec::new();
                    for m in order {
                        match kept.last_mut() {
                            Some(last) if last.0 == m.0 => *last = m,
                            _ => kept.push(m),
                        }
                    }
                    order = kept;
                } else if rng.chance(0.5) {
                    order.sort_by(|a, b| a.0.cmp(&b.0));
                }
                out.push('{');
                for (i, (k, v)) in order.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    space(rng, out);
                    string(rng, k, out);
                    space(rng, out);
                    out.push(':');
                    write_gen(rng, v, canonical, out);
                }
                out.push('}');
            }
        }
        space(rng, out);
    }

    /// Random values written canonically and not: the same results both ways.
    #[test]
    fn fast_path_matches_tree_on_random_values() {
        let redactor = redactor();
        let corpus = crate::corpus::generate(7, 40);
        let mut texts: Vec<String> = corpus
            .json
            .iter()
            .flat_map(|r| r.fields.iter().map(|f| f.text.clone()))
            .collect();
        texts.extend(
            [
                "",
                "John Smith",
                "123-45-6789",
                "say \"hi\"",
                "a\\b",
                "tab\there",
                "é",
                "~/",
            ]
            .map(String::from),
        );
        let mut rng = crate::corpus::Rng::new(2026);
        let (mut taken, mut total) = (0, 0);
        for i in 0..3000u64 {
            let v = gen_value(&mut rng, &texts, 0);
            for canonical in [true, false] {
                let mut text = String::new();
                write_gen(&mut rng, &v, canonical, &mut text);
                total += 1;
                taken += usize::from(same_both_ways(&redactor, i + 1, &text));
            }
        }
        // Both paths are exercised.
        assert!(
            taken * 5 > total && taken * 10 < total * 9,
            "{taken} of {total}"
        );
    }
}
