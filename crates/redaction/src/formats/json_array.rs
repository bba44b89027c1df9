//! A JSON document whose top level is an array, streamed element by element: a splitter reads
//! the document in buffered chunks and cuts it at the array's own commas (outside strings, at
//! depth 0), each element is parsed, redacted and pretty-printed on its own, in parallel
//! batches bounded like JSON Lines', and written in order. Memory is bounded by a batch, not by
//! the document, so a multi-gigabyte export goes through as JSON Lines does.
//!
//! The output is byte for byte what printing the whole tree pretty writes (tested against that
//! path): serde_json's pretty array is `[`, then each element after `\n` (`,\n` after the first)
//! indented by two spaces, then `\n]`; an element printed pretty on its own and indented after
//! each of its line breaks is the same bytes, because a JSON string never holds a raw line break.
//! The splitter does not check the elements' JSON: the parser does, element by element, and its
//! errors are placed in the document (line, column; for invalid UTF-8, line and byte offset).

use std::io::{BufRead, Write};

use rayon::prelude::*;

use super::{parse, push_index, redact_value, write_runs, Run, MAX_JSON_BYTES};
use crate::formats::{batch_len, FileReport, FormatError, LogBatch, Sink};
use crate::redactor::Redactor;

/// Array elements redacted together by one task.
const ELEMENTS_PER_TASK: usize = 32;

/// A place in the document: byte offset, 1-based line and the offset where that line starts.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pos {
    offset: u64,
    line: u64,
    line_start: u64,
}

impl Pos {
    /// The place after `lead`, the bytes before it.
    pub(super) fn after(lead: &[u8]) -> Pos {
        let mut pos = Pos {
            offset: 0,
            line: 1,
            line_start: 0,
        };
        pos.advance(lead);
        pos
    }

    /// Moves past `bytes`.
    fn advance(&mut self, bytes: &[u8]) {
        if let Some(last) = memchr::memrchr(b'\n', bytes) {
            self.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
            self.line_start = self.offset + last as u64 + 1;
        }
        self.offset += bytes.len() as u64;
    }

    /// 1-based column (in bytes).
    fn column(&self) -> u64 {
        self.offset - self.line_start + 1
    }
}

/// JSON's white space.
pub(super) fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn syntax(file: &str, at: Pos, category: &'static str) -> FormatError {
    FormatError::Json {
        file: file.to_string(),
        line: at.line,
        column: at.column(),
        category,
    }
}

/// Cuts the array into its elements' bytes. The state carried across buffer refills is the
/// string and escape flags and the nesting depth inside the element.
struct Splitter<R> {
    input: R,
    /// Where the next unread byte is.
    pos: Pos,
}

/// How an element's bytes ended.
enum End {
    /// A comma at depth 0: another element follows.
    Comma,
    /// The array's `]`.
    Close,
    /// Anything else: a `}` at depth 0 (at the given place), or the end of the input.
    Bad(Pos, &'static str),
    /// More bytes than the limit, before any end.
    TooLarge,
}

impl<R: BufRead> Splitter<R> {
    /// Skips white space; the next byte, not consumed (`None` at the end of the input).
    fn skip_space(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            let chunk = self.input.fill_buf()?;
            let Some(&first) = chunk.first() else {
                return Ok(None);
            };
            if !is_json_space(first) {
                return Ok(Some(first));
            }
            let n = chunk.iter().take_while(|&&b| is_json_space(b)).count();
            self.pos.advance(&chunk[..n]);
            self.input.consume(n);
        }
    }

    /// Consumes one byte already seen by [`Self::skip_space`].
    fn bump(&mut self, byte: u8) {
        self.pos.advance(&[byte]);
        self.input.consume(1);
    }

    /// Reads one element's bytes into `buf` up to the comma or bracket that ends it, which is
    /// consumed; stops past `max` bytes.
    fn element(&mut self, buf: &mut Vec<u8>, max: u64) -> std::io::Result<End> {
        let (mut in_string, mut escaped, mut depth) = (false, false, 0u64);
        loop {
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                return Ok(End::Bad(self.pos, "unexpected end of input"));
            }
            let mut i = 0;
            let mut end = None;
            while i < chunk.len() {
                if escaped {
                    escaped = false;
                    i += 1;
                    continue;
                }
                if in_string {
                    // The rest of the string up to its closing quote or next escape.
                    match memchr::memchr2(b'"', b'\\', &chunk[i..]) {
                        Some(k) => {
                            i += k;
                            in_string = chunk[i] == b'\\';
                            escaped = in_string;
                            i += 1;
                        }
                        None => i = chunk.len(),
                    }
                    continue;
                }
                match chunk[i] {
                    b'"' => in_string = true,
                    b'[' | b'{' => depth += 1,
                    b @ (b']' | b'}') if depth == 0 => {
                        end = Some(b);
                        break;
                    }
                    b']' | b'}' => depth -= 1,
                    b',' if depth == 0 => {
                        end = Some(b',');
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            buf.extend_from_slice(&chunk[..i]);
            self.pos.advance(&chunk[..i]);
            self.input.consume(i);
            if buf.len() as u64 > max {
                return Ok(End::TooLarge);
            }
            match end {
                Some(b',') => {
                    self.bump(b',');
                    return Ok(End::Comma);
                }
                Some(b']') => {
                    self.bump(b']');
                    return Ok(End::Close);
                }
                Some(_) => return Ok(End::Bad(self.pos, "syntax error")),
                None => {}
            }
        }
    }
}

/// One element: its index in the array, where it starts, its bytes.
struct Element {
    index: usize,
    start: Pos,
    bytes: Vec<u8>,
}

/// Writes what is written to it into a buffer, two spaces after each line break: an element
/// printed pretty at the array's indentation.
struct Indented<'a>(&'a mut Vec<u8>);

impl Write for Indented<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.0.extend_from_slice(&rest[..=i]);
            self.0.extend_from_slice(b"  ");
            rest = &rest[i + 1..];
        }
        self.0.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Parses, redacts and prints one element (with the separator before it) into `out`.
fn redact_element(
    redactor: &Redactor,
    file: &str,
    element: &Element,
    out: &mut Vec<u8>,
    log: &mut LogBatch,
) -> Result<(), FormatError> {
    let text = element_text(file, element)?;
    let mut node = parse(text).map_err(|e| parse_error(file, element.start, &e))?;
    let mut prefix = String::with_capacity(12);
    prefix.push('/');
    push_index(&mut prefix, element.index);
    // Line 1, as for any record of a whole JSON document: the pointer places it.
    redact_value(redactor, &mut node, file, 1, &prefix, log);
    out.extend_from_slice(if element.index == 0 {
        b"\n  "
    } else {
        b",\n  "
    });
    serde_json::to_writer_pretty(Indented(out), &node).map_err(|e| FormatError::io(file, e.into()))
}

/// Cuts the next element (after `[` or a comma); true when the array's `]` ended it.
fn next_element<R: BufRead>(
    split: &mut Splitter<R>,
    file: &str,
    index: usize,
) -> Result<(Element, bool), FormatError> {
    // An element, not `]` (a trailing comma) nor a comma.
    match split.skip_space().map_err(|e| FormatError::io(file, e))? {
        Some(b']' | b',') => return Err(syntax(file, split.pos, "syntax error")),
        Some(_) => {}
        None => return Err(syntax(file, split.pos, "unexpected end of input")),
    }
    let start = split.pos;
    let mut bytes = Vec::new();
    let end = split
        .element(&mut bytes, MAX_JSON_BYTES)
        .map_err(|e| FormatError::io(file, e))?;
    let element = Element {
        index,
        start,
        bytes,
    };
    match end {
        End::Comma => Ok((element, false)),
        End::Close => Ok((element, true)),
        End::TooLarge => Err(FormatError::Unsupported {
            file: file.to_string(),
            message: format!(
                "array element {index} (from line {}) is larger than {MAX_JSON_BYTES} bytes",
                start.line
            ),
        }),
        // Brackets that do not pair: the parser, reading the element so far, places the error
        // where the whole document's parse would (at or before the bracket that closed too
        // much); only when it ran out of input first is the error the bracket's.
        End::Bad(at, category) => Err(match element_text(file, &element).map(parse) {
            Err(e) => e,
            Ok(Err(e)) if e.classify() != serde_json::error::Category::Eof => {
                parse_error(file, element.start, &e)
            }
            Ok(_) => syntax(file, at, category),
        }),
    }
}

/// An element's text, or its invalid UTF-8 placed in the document.
fn element_text<'e>(file: &str, element: &'e Element) -> Result<&'e str, FormatError> {
    std::str::from_utf8(&element.bytes).map_err(|e| {
        let mut at = element.start;
        at.advance(&element.bytes[..e.valid_up_to()]);
        FormatError::InvalidUtf8 {
            file: file.to_string(),
            line: at.line,
            offset: at.offset,
        }
    })
}

/// A parse error in an element starting at `start`, placed in the document (serde_json counts
/// lines and columns from the element's first byte).
fn parse_error(file: &str, start: Pos, e: &serde_json::Error) -> FormatError {
    let line = e.line().max(1) as u64;
    let column = e.column() as u64;
    FormatError::Json {
        file: file.to_string(),
        line: start.line + line - 1,
        column: if line == 1 {
            start.column() + column.max(1) - 1
        } else {
            column
        },
        category: super::error_category(e),
    }
}

/// Redacts the array whose `[` is the next byte of `input` (at `pos`), then checks that only
/// white space follows it. `batch_bytes` bounds a batch's elements (with at least one element).
#[allow(clippy::too_many_arguments)]
pub(super) fn redact<R: BufRead, W: Write>(
    redactor: &Redactor,
    input: R,
    pos: Pos,
    mut output: W,
    file: &str,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64),
    batch_bytes: usize,
) -> Result<FileReport, FormatError> {
    let mut split = Splitter { input, pos };
    let mut report = FileReport {
        file: file.to_string(),
        format: "json".into(),
        ..Default::default()
    };
    split.bump(b'[');
    output
        .write_all(b"[")
        .map_err(|e| FormatError::io(file, e))?;
    let mut index = 0usize;
    // An empty array ends at once; otherwise an element comes first.
    let mut closed = match split.skip_space().map_err(|e| FormatError::io(file, e))? {
        Some(b']') => {
            split.bump(b']');
            true
        }
        Some(_) => false,
        None => return Err(syntax(file, split.pos, "unexpected end of input")),
    };
    while !closed {
        let mut batch: Vec<Element> = Vec::new();
        let mut bytes = 0usize;
        // An error found while cutting: raised after the elements before it, whose own errors
        // (found when they are parsed) come first in the document.
        let mut pending = None;
        while !closed && batch.len() < batch_len(256) && bytes < batch_bytes {
            match next_element(&mut split, file, index) {
                Ok((element, end)) => {
                    closed = end;
                    bytes += element.bytes.len();
                    batch.push(element);
                    index += 1;
                }
                Err(e) => {
                    pending = Some(e);
                    break;
                }
            }
        }
        let done: Vec<Run> = batch
            .par_chunks(ELEMENTS_PER_TASK)
            .map(|elements| {
                let bytes: usize = elements.iter().map(|e| e.bytes.len()).sum();
                let mut out = Vec::with_capacity(bytes + bytes / 2);
                let mut log = LogBatch::for_input(bytes);
                let mut records = 0;
                for element in elements {
                    if let Err(e) = redact_element(redactor, file, element, &mut out, &mut log) {
                        return (out, log, records, Some(e));
                    }
                    records += 1;
                }
                (out, log, records, None)
            })
            .collect();
        write_runs(done, &mut output, file, sink, &mut report)?;
        if let Some(e) = pending {
            return Err(e);
        }
        progress(split.pos.offset);
    }
    if split
        .skip_space()
        .map_err(|e| FormatError::io(file, e))?
        .is_some()
    {
        // Only white space may follow the array.
        return Err(syntax(file, split.pos, "syntax error"));
    }
    report.bytes = split.pos.offset;
    let close: &[u8] = if index == 0 { b"]\n" } else { b"\n]\n" };
    output
        .write_all(close)
        .map_err(|e| FormatError::io(file, e))?;
    output.flush().map_err(|e| FormatError::io(file, e))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::io::{BufReader, Read};

    use super::super::{parse, redact_document_in, redact_value, redact_whole, Node};
    use crate::formats::{FileReport, FormatError, LogBatch, MemorySink};
    use crate::{Policy, Redactor};

    fn redactor() -> Redactor {
        Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap()
    }

    /// Output, log, review list and report (as JSON), or the error's message.
    type Run = Result<(String, String, String, String), String>;

    fn finish(out: Vec<u8>, sink: MemorySink, r: Result<FileReport, FormatError>) -> Run {
        let report = r.map_err(|e| e.to_string())?;
        Ok((
            String::from_utf8(out).unwrap(),
            String::from_utf8(sink.log).unwrap(),
            String::from_utf8(sink.review).unwrap(),
            serde_json::to_string(&report).unwrap(),
        ))
    }

    fn streamed(redactor: &Redactor, doc: &[u8], batch_bytes: usize, buffer: usize) -> Run {
        let (mut out, mut sink) = (Vec::new(), MemorySink::default());
        let input = BufReader::with_capacity(buffer, doc);
        let r = redact_document_in(
            redactor,
            input,
            &mut out,
            "d.json",
            &mut sink,
            &|_| {},
            batch_bytes,
        );
        finish(out, sink, r)
    }

    /// The whole-document redaction of an array, as it was before streaming (the document read
    /// and parsed whole, each element a record under its pointer, the tree printed pretty); its
    /// errors are the whole-document path's (`redact_whole` reads and parses before it redacts).
    fn whole(redactor: &Redactor, doc: &[u8]) -> Run {
        let mut discard = MemorySink::default();
        if let Err(e) = redact_whole(redactor, doc, &mut Vec::new(), "d.json", &mut discard) {
            return Err(e.to_string());
        }
        let mut tree = parse(std::str::from_utf8(doc).unwrap()).unwrap();
        let Node::Array(items) = &mut tree else {
            panic!("not an array");
        };
        let (mut out, mut sink) = (Vec::new(), MemorySink::default());
        let mut report = FileReport {
            file: "d.json".into(),
            format: "json".into(),
            bytes: doc.len() as u64,
            ..Default::default()
        };
        for (i, item) in items.iter_mut().enumerate() {
            let mut log = LogBatch::default();
            redact_value(redactor, item, "d.json", 1, &format!("/{i}"), &mut log);
            report.records += 1;
            log.flush("d.json", &mut sink, &mut report).unwrap();
        }
        serde_json::to_writer_pretty(&mut out, &tree).unwrap();
        out.push(b'\n');
        finish(out, sink, Ok(report))
    }

    /// Arrays of every shape: the corpus's case records compact and pretty, white space of every
    /// kind between elements, strings holding brackets, commas, quotes and backslashes, nested
    /// and empty arrays, scalars, duplicate keys.
    fn arrays() -> Vec<Vec<u8>> {
        let corpus = crate::corpus::generate(2026, 400);
        let records: Vec<serde_json::Value> = corpus.json.iter().map(|r| r.to_json()).collect();
        let texts: Vec<serde_json::Value> = corpus
            .texts
            .iter()
            .take(60)
            .enumerate()
            .map(|(i, r)| serde_json::json!({"id": i, "narrative": r.fields[0].text}))
            .collect();
        let mut docs = vec![
            serde_json::to_vec(&records).unwrap(),
            serde_json::to_vec_pretty(&records).unwrap(),
            serde_json::to_vec_pretty(&texts).unwrap(),
        ];
        let odd: Vec<String> = records
            .iter()
            .take(40)
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        docs.push(format!(" \r\n\t[ {} ]\n\n ", odd.join(" ,\r\n\t")).into_bytes());
        for text in [
            "[]",
            "  [ \n ]  \n",
            r#"[1,"a",null,true,false,[2,[3,[]]],{},-0,1.50,1e3]"#,
            r#"["a,]}\"[{", "\\", "x\\\"],", {"k]":"v,}","k]":"w"}, ["]"], "\u00e9\ud83d\ude00"]"#,
            r#"[{"name":"Ana Lopez","ssn":"512-44-9012"},{"name":"Piotr Nowak","note":"Nowak was born in Krakow, Poland"}]"#,
            "[[{\"phone\":\"773-555-2368\"}],\n[[\"Juan Garcia\"]]]",
        ] {
            docs.push(text.as_bytes().to_vec());
        }
        docs
    }

    /// A top-level array streamed element by element writes, logs and reports byte for byte what
    /// redacting the whole document does, whatever the batch and buffer sizes.
    #[test]
    fn streamed_array_is_the_whole_document() {
        let r = redactor();
        for doc in arrays() {
            let expected = whole(&r, &doc);
            assert!(expected.is_ok(), "{expected:?}");
            for (batch, buffer) in [
                (1, 1),
                (64, 7),
                (4096, 4096),
                (super::super::BATCH_BYTES, 1 << 16),
            ] {
                assert_eq!(
                    streamed(&r, &doc, batch, buffer),
                    expected,
                    "batch {batch}, buffer {buffer}: {}",
                    String::from_utf8_lossy(&doc[..doc.len().min(200)])
                );
            }
        }
    }

    /// An error inside an element is placed in the document as the whole document's parse places
    /// it; an error between elements (a trailing or doubled comma, a missing or stray bracket,
    /// something after the array) is an error too, at the right line, and never a release.
    #[test]
    fn streamed_errors_are_placed_in_the_document() {
        let r = redactor();
        let same: &[&[u8]] = &[
            b"[{\"a\":1},\n {\"b\": tru},\n {\"c\":3}]",
            b"[1,\n  2,\n  {\"x\": [1, 2,}]}]",
            b"[{\"a\":\"x\"},\n  {\"a\" \"y\"}]",
            b"[1, 01]",
            b"[\"ok\",\n\n  \"bad \x01 control\"]",
            b"[{\"a\":\"ok\"},\n{\"b\":\"Jos\xe9\"}]",
            b"  \n [\"\xff\"]",
        ];
        for doc in same {
            let expected = whole(&r, doc);
            assert!(expected.is_err(), "{}", String::from_utf8_lossy(doc));
            assert_eq!(
                streamed(&r, doc, 1, 3),
                expected,
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
        let placed: &[(&[u8], &str)] = &[
            (b"[1,\n2,\n]", "line 3, column 1: syntax error"),
            (b"[1,\n,2]", "line 2, column 1: syntax error"),
            (b"[1,\n2", "line 2, column 2: unexpected end of input"),
            (b"[\n", "line 2, column 1: unexpected end of input"),
            (b"[1,\n2]\n x", "line 3, column 2: syntax error"),
            (b"[1,\n2}", "line 2, column 2: syntax error"),
            (
                b"[{\"a\":\n\"b\"",
                "line 2, column 4: unexpected end of input",
            ),
        ];
        for (doc, expect) in placed {
            assert!(whole(&r, doc).is_err());
            let got = streamed(&r, doc, 1, 2).unwrap_err();
            assert!(
                got.ends_with(expect),
                "{}: {got}",
                String::from_utf8_lossy(doc)
            );
        }
    }

    /// A reader that counts what has been read from it.
    struct Counting<'a> {
        bytes: &'a [u8],
        read: &'a Cell<usize>,
    }

    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.bytes.read(buf)?;
            self.read.set(self.read.get() + n);
            Ok(n)
        }
    }

    /// A writer that notes how much had been read when each write came.
    struct Noting<'a> {
        read: &'a Cell<usize>,
        at: Vec<usize>,
    }

    impl std::io::Write for Noting<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.at.push(self.read.get());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Streaming: output comes while the input is still being read, and the input is never read
    /// more than a batch (plus the element that closes it and the reader's buffer) ahead of the
    /// output.
    #[test]
    fn streaming_reads_a_batch_ahead_at_most() {
        let r = redactor();
        let corpus = crate::corpus::generate(7, 1500);
        let records: Vec<serde_json::Value> = corpus.json.iter().map(|r| r.to_json()).collect();
        let largest = records
            .iter()
            .map(|r| serde_json::to_vec(r).unwrap().len())
            .max()
            .unwrap();
        let doc = serde_json::to_vec(&records).unwrap();
        let (batch, buffer) = (8 * 1024, 1024);
        let read = Cell::new(0);
        let input = BufReader::with_capacity(
            buffer,
            Counting {
                bytes: &doc,
                read: &read,
            },
        );
        let mut out = Noting {
            read: &read,
            at: Vec::new(),
        };
        let mut sink = MemorySink::default();
        let report =
            redact_document_in(&r, input, &mut out, "d.json", &mut sink, &|_| {}, batch).unwrap();
        assert_eq!(report.records, records.len() as u64);
        assert_eq!(report.bytes, doc.len() as u64);
        let writes = &out.at;
        assert!(writes.len() > 20, "{} writes", writes.len());
        // The first element's output is written after a batch is read, long before the end.
        assert!(writes[1] < doc.len() / 10, "{} of {}", writes[1], doc.len());
        let ahead = writes.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(
            ahead <= batch + largest + buffer,
            "read {ahead} bytes ahead"
        );
    }
}
