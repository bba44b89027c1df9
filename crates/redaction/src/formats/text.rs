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
            };
            loop {
                let before = chunk.bytes.len();
                let n = read_line_limited(&mut input, &mut chunk.bytes)
                    .map_err(|e| FormatError::io(file, e))?;
                if n == 0 {
                    eof = true;
                    break;
                }
                line_no += 1;
                offset += n as u64;
                if n > MAX_LINE_BYTES {
                    return Err(FormatError::LineTooLong {
                        file: file.to_string(),
                        line: line_no,
                        max: MAX_LINE_BYTES,
                    });
                }
                let line = &chunk.bytes[before..];
                let blank = line.iter().all(|b| b.is_ascii_whitespace());
                if (chunk.bytes.len() >= CHUNK_BYTES && blank)
                    || chunk.bytes.len() >= 16 * CHUNK_BYTES
                {
                    break;
                }
            }
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
                // Findings come in order: count newlines incrementally, not from the chunk start.
                let counter = std::cell::Cell::new((0usize, chunk.first_line));
                let location = |pos: usize| {
                    let (from, line) = counter.get();
                    let (from, line) = if pos >= from {
                        (from, line)
                    } else {
                        (0, chunk.first_line)
                    };
                    let line = line
                        + memchr::memchr_iter(b'\n', &text.as_bytes()[from..pos]).count() as u64;
                    counter.set((pos, line));
                    Location::Line { line }
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
