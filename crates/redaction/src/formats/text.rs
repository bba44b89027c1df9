//! Plain text: read in chunks of whole lines (a chunk ends at a blank line once it is large
//! enough), each chunk one record for propagation; chunks are redacted in parallel.

use std::io::{BufRead, Write};

use rayon::prelude::*;

use super::{batch_len, FileReport, FormatError, LogBatch, Sink, BATCH_BYTES, MAX_LINE_BYTES};
use crate::log::Location;
use crate::redactor::Redactor;

/// Target record size: a chunk closes at the next blank line after this, or at 16× this. Names
/// and identifiers propagate within a chunk, so it is kept near a document's size.
const CHUNK_BYTES: usize = 8 * 1024;

struct Chunk {
    first_line: u64,
    first_offset: u64,
    bytes: Vec<u8>,
    /// Offsets of the newlines in `bytes`, noted as the lines are read: a finding's line
    /// number is the count of those before it.
    newlines: Vec<usize>,
}

/// Reads lines into `chunk` until it is large enough (see [`CHUNK_BYTES`]); true at the end
/// of the input.
fn read_chunk<R: BufRead>(
    input: &mut R,
    chunk: &mut Chunk,
    line_no: &mut u64,
    offset: &mut u64,
    file: &str,
) -> Result<bool, FormatError> {
    loop {
        let before = chunk.bytes.len();
        let n = read_line_limited(input, &mut chunk.bytes).map_err(|e| FormatError::io(file, e))?;
        if n == 0 {
            return Ok(true);
        }
        *line_no += 1;
        *offset += n as u64;
        if n > MAX_LINE_BYTES {
            return Err(FormatError::LineTooLong {
                file: file.to_string(),
                line: *line_no,
                max: MAX_LINE_BYTES,
            });
        }
        // A line holds one newline, its last byte, unless it is the input's last line.
        if chunk.bytes.last() == Some(&b'\n') {
            chunk.newlines.push(chunk.bytes.len() - 1);
        }
        let line = &chunk.bytes[before..];
        let blank = line.iter().all(|b| b.is_ascii_whitespace());
        if (chunk.bytes.len() >= CHUNK_BYTES && blank) || chunk.bytes.len() >= 16 * CHUNK_BYTES {
            return Ok(false);
        }
    }
}

/// Redacts a text stream. `progress` is called with bytes read so far.
pub fn redact<R: BufRead, W: Write>(
    redactor: &Redactor,
    mut input: R,
    mut output: W,
    file: &str,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64),
) -> Result<FileReport, FormatError> {
    let mut report = FileReport {
        file: file.to_string(),
        format: "text".into(),
        ..Default::default()
    };
    let mut line_no: u64 = 0;
    let mut offset: u64 = 0;
    let mut eof = false;
    while !eof {
        let mut batch: Vec<Chunk> = Vec::new();
        while batch.len() < batch_len(64)
            && !eof
            && batch.iter().map(|c| c.bytes.len()).sum::<usize>() < BATCH_BYTES
        {
            let mut chunk = Chunk {
                first_line: line_no + 1,
                first_offset: offset,
                bytes: Vec::with_capacity(CHUNK_BYTES + 4096),
                // Lines average about 45 bytes: room for a chunk's newlines without growing
                // push by push (six reallocations a chunk otherwise).
                newlines: Vec::with_capacity(CHUNK_BYTES / 32),
            };
            eof = read_chunk(&mut input, &mut chunk, &mut line_no, &mut offset, file)?;
            if !chunk.bytes.is_empty() {
                batch.push(chunk);
            }
        }
        let texts: Vec<&str> = batch
            .iter()
            .map(|c| {
                std::str::from_utf8(&c.bytes).map_err(|e| {
                    let valid = &c.bytes[..e.valid_up_to()];
                    FormatError::InvalidUtf8 {
                        file: file.to_string(),
                        line: c.first_line + memchr::memchr_iter(b'\n', valid).count() as u64,
                        offset: c.first_offset + e.valid_up_to() as u64,
                    }
                })
            })
            .collect::<Result<_, _>>()?;
        let redacted: Vec<_> = texts
            .par_iter()
            .zip(&batch)
            .map(|(text, chunk)| {
                let field = redactor.redact_text(text);
                // A finding's line is the number of newlines before it, looked up in the
                // chunk's list (counting them from the previous finding cost a `memchr` count,
                // about 150 instructions, per log line). Findings come in order, so the index
                // only moves forward; a finding before the previous one searches from the start.
                let newlines = &chunk.newlines;
                let next = std::cell::Cell::new(0usize);
                let location = |pos: usize| {
                    let k = lines_before(newlines, next.get(), pos);
                    next.set(k);
                    Location::Line {
                        line: chunk.first_line + k as u64,
                    }
                };
                let mut log = LogBatch::default();
                log.field(redactor, file, text, &field, &location);
                (field.text, log)
            })
            .collect();
        for (chunk, (out, mut log)) in batch.iter().zip(redacted) {
            log.flush(file, sink, &mut report)?;
            output
                .write_all(out.as_bytes())
                .map_err(|e| FormatError::io(file, e))?;
            report.bytes += chunk.bytes.len() as u64;
        }
        report.records = line_no;
        progress(report.bytes);
    }
    output.flush().map_err(|e| FormatError::io(file, e))?;
    Ok(report)
}

/// The number of `newlines` (sorted offsets) before `pos`, searched forward from `from`, the
/// answer for an earlier position (or anywhere, when `pos` is not after it).
fn lines_before(newlines: &[usize], from: usize, pos: usize) -> usize {
    let mut k = from.min(newlines.len());
    if k > 0 && newlines[k - 1] >= pos {
        return newlines.partition_point(|&n| n < pos);
    }
    while k < newlines.len() && newlines[k] < pos {
        k += 1;
    }
    k
}

/// Reads one line (with its `\n`) but stops growing the buffer past the limit, so a
/// multi-gigabyte "line" cannot exhaust memory. Returns bytes consumed.
pub(crate) fn read_line_limited<R: BufRead>(
    input: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(total);
        }
        let (take, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if total + take <= MAX_LINE_BYTES + 1 {
            buf.extend_from_slice(&available[..take]);
        }
        input.consume(take);
        total += take;
        if done {
            return Ok(total);
        }
        if total > MAX_LINE_BYTES {
            // Report the overflow without reading the rest of a possibly endless line.
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{lines_before, read_chunk, Chunk};

    /// The newlines noted while reading are those in the chunk, for chunks closed at blank
    /// lines and at the size limit, CRLF lines, and a last line with and without its newline.
    #[test]
    fn chunks_note_their_newlines() {
        let mut text = String::new();
        for i in 0..4000 {
            match i % 7 {
                0 => text.push('\n'),
                1 => text.push_str("  \t\r\n"),
                2 => text.push_str("Line with CRLF\r\n"),
                _ => text.push_str(&"word ".repeat(i % 40)),
            }
            if i % 7 > 2 {
                text.push('\n');
            }
        }
        // A run without blank lines, past 16 × the chunk size.
        text.push_str(&"no blank line here\n".repeat(8000));
        for tail in ["", "last line without a newline", "\n"] {
            let input = format!("{text}{tail}");
            let mut reader = std::io::Cursor::new(input.as_bytes());
            let (mut line_no, mut offset, mut all) = (0, 0, Vec::new());
            let mut chunks = 0;
            loop {
                let mut chunk = Chunk {
                    first_line: line_no + 1,
                    first_offset: offset,
                    bytes: Vec::new(),
                    newlines: Vec::new(),
                };
                let eof = read_chunk(&mut reader, &mut chunk, &mut line_no, &mut offset, "t")
                    .expect("reads");
                let found: Vec<usize> = memchr::memchr_iter(b'\n', &chunk.bytes).collect();
                assert_eq!(chunk.newlines, found);
                all.extend_from_slice(&chunk.bytes);
                chunks += 1;
                if eof {
                    break;
                }
            }
            assert_eq!(all, input.as_bytes());
            assert!(chunks > 10, "{chunks} chunks");
        }
    }

    /// The line lookup agrees with counting the newlines before each position, for positions
    /// in order (the usual case), repeated, and going back (which must search again).
    #[test]
    fn lines_before_counts_the_newlines_before() {
        let text = b"a\nbc\n\n\ndef\nghij\n\nk\n";
        let newlines: Vec<usize> = memchr::memchr_iter(b'\n', text).collect();
        let count = |pos: usize| text[..pos].iter().filter(|&&b| b == b'\n').count();
        let mut orders: Vec<Vec<usize>> = vec![(0..=text.len()).collect()];
        orders.push((0..=text.len()).rev().collect());
        // A fixed shuffle: multiples of 7 modulo a prime past the length.
        orders.push(
            (0..23)
                .map(|i| i * 7 % 23)
                .filter(|&p| p <= text.len())
                .collect(),
        );
        orders.push(vec![5, 5, 6, 2, 2, 19, 0, 19, 3]);
        for order in orders {
            let mut from = 0;
            for pos in order {
                let k = lines_before(&newlines, from, pos);
                assert_eq!(k, count(pos), "position {pos} after index {from}");
                from = k;
            }
        }
        assert_eq!(lines_before(&[], 0, 10), 0);
    }
}
