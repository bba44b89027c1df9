//! A workbook with a large shared-string table, rewritten so that calamine need not hold it.
//!
//! calamine reads `xl/sharedStrings.xml` whole into memory when it opens a workbook. Past
//! [`INLINE_ABOVE`] bytes of that part, the workbook is first copied to a temporary file in
//! which every shared-string cell holds its string inline (`t="inlineStr"`, and the `<si>`'s own
//! XML inside `<is>`, the same schema), and the table is empty; calamine then reads the copy
//! with the same code, cell by cell. The strings wait meanwhile in a temporary file, found by
//! index through a second one of fixed-size entries, so memory stays bounded.
//!
//! The copy reads as the original: an inline string is read by the same calamine function as a
//! shared one (`read_string`, on the same XML), and the table's indices are calamine's, which
//! skips an `<si>` that function reads as nothing (no `<t>` outside a phonetic run, no rich-text
//! run). Tested against reading the original, on the streaming tests' workbook and on tables
//! with rich text, phonetic runs, entities and empty entries.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, Writer};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::bad;
use crate::formats::FormatError;

/// Size of `xl/sharedStrings.xml` (uncompressed) above which the strings are put inline.
pub const INLINE_ABOVE: u64 = 64 * 1024 * 1024;

pub(super) const SHARED_STRINGS: &str = "xl/sharedStrings.xml";

/// The part that replaces the table in the copy: no strings.
const EMPTY_TABLE: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"0\" uniqueCount=\"0\"></sst>";

/// The copy of `input` (a workbook that has a shared-string table) with its shared strings
/// inline, read from its start.
pub(super) fn inline_shared_strings<R: Read + Seek>(
    input: &mut R,
    file: &str,
) -> Result<BufReader<File>, FormatError> {
    let unreadable = |what: &str| bad(file, format!("unreadable XLSX workbook: {what}"));
    let io = |e: std::io::Error| FormatError::io(file, e);
    let mut archive = ZipArchive::new(&mut *input).map_err(|_| unreadable("not a zip archive"))?;
    let mut table = {
        let part = archive
            .by_name(SHARED_STRINGS)
            .map_err(|_| unreadable("its shared strings"))?;
        Table::spill(BufReader::new(part))
            .map_err(|e| unreadable(&format!("its shared strings: {e}")))?
    };
    let mut copy = ZipWriter::new(BufWriter::new(tempfile::tempfile().map_err(io)?));
    // The copy is read once and thrown away: stored, not compressed again.
    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(true);
    for i in 0..archive.len() {
        let name = archive
            .by_index_raw(i)
            .map_err(|_| unreadable("a part"))?
            .name()
            .to_string();
        if name == SHARED_STRINGS {
            copy.start_file(name, stored)
                .map_err(|e| unreadable(&e.to_string()))?;
            copy.write_all(EMPTY_TABLE).map_err(io)?;
        } else if name.starts_with("xl/worksheets/") && name.ends_with(".xml") {
            copy.start_file(name.as_str(), stored)
                .map_err(|e| unreadable(&e.to_string()))?;
            let part = archive.by_index(i).map_err(|_| unreadable("a worksheet"))?;
            inline_sheet(BufReader::new(part), &mut copy, &mut table)
                .map_err(|e| unreadable(&format!("worksheet {name:?}: {e}")))?;
        } else {
            let part = archive.by_index_raw(i).map_err(|_| unreadable("a part"))?;
            copy.raw_copy_file(part)
                .map_err(|e| unreadable(&e.to_string()))?;
        }
    }
    let mut written = copy
        .finish()
        .map_err(|e| unreadable(&e.to_string()))?
        .into_inner()
        .map_err(|e| io(e.into_error()))?;
    written.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(BufReader::new(written))
}

/// Why a part could not be rewritten (the XML or the temporary files).
#[derive(Debug)]
enum InlineError {
    Xml(quick_xml::Error),
    Io(std::io::Error),
    /// A cell names a string the table does not have.
    NoString(u64),
}

impl std::fmt::Display for InlineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InlineError::Xml(e) => write!(f, "{e}"),
            InlineError::Io(e) => write!(f, "{e}"),
            InlineError::NoString(i) => {
                write!(f, "a cell names shared string {i}, which is missing")
            }
        }
    }
}

impl From<quick_xml::Error> for InlineError {
    fn from(e: quick_xml::Error) -> Self {
        InlineError::Xml(e)
    }
}

impl From<std::io::Error> for InlineError {
    fn from(e: std::io::Error) -> Self {
        InlineError::Io(e)
    }
}

fn truncated() -> InlineError {
    InlineError::Io(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "the shared-string table ends early",
    ))
}

/// The shared strings' XML, in a temporary file, and where each one is, in another (16 bytes an
/// entry: offset and length).
struct Table {
    strings: BufReader<File>,
    index: BufReader<File>,
    len: u64,
}

impl Table {
    /// Copies each `<si>`'s inner XML that calamine keeps (see the module's doc) to the files.
    fn spill<B: std::io::BufRead>(part: B) -> Result<Table, InlineError> {
        let mut xml = Reader::from_reader(part);
        let mut strings = BufWriter::new(tempfile::tempfile()?);
        let mut index = BufWriter::new(tempfile::tempfile()?);
        let (mut at, mut len) = (0u64, 0u64);
        let mut buf = Vec::new();
        let mut inner = Vec::new();
        loop {
            buf.clear();
            match xml.read_event_into(&mut buf)? {
                Event::Start(e) if e.local_name().as_ref() == b"si" => {
                    let close = e.name().as_ref().to_vec();
                    // The inner XML, event by event as read (each written back as its bytes).
                    let mut item = Writer::new(std::mem::take(&mut inner));
                    let (mut kept, mut phonetic, mut depth) = (false, false, 0usize);
                    loop {
                        buf.clear();
                        let event = xml.read_event_into(&mut buf)?;
                        match &event {
                            Event::End(end) if depth == 0 && end.name().as_ref() == close => break,
                            Event::Start(s) => {
                                depth += 1;
                                match s.local_name().as_ref() {
                                    b"r" => kept = true,
                                    b"rPh" => phonetic = true,
                                    b"t" if !phonetic => kept = true,
                                    _ => {}
                                }
                            }
                            Event::End(end) => {
                                depth = depth.saturating_sub(1);
                                if end.local_name().as_ref() == b"rPh" {
                                    phonetic = false;
                                }
                            }
                            Event::Eof => return Err(truncated()),
                            _ => {}
                        }
                        item.write_event(event)?;
                    }
                    inner = item.into_inner();
                    if kept {
                        strings.write_all(&inner)?;
                        index.write_all(&at.to_le_bytes())?;
                        index.write_all(&(inner.len() as u64).to_le_bytes())?;
                        at += inner.len() as u64;
                        len += 1;
                    }
                    inner.clear();
                }
                Event::End(e) if e.local_name().as_ref() == b"sst" => break,
                Event::Eof => return Err(truncated()),
                _ => {}
            }
        }
        let reopen = |w: BufWriter<File>| -> Result<BufReader<File>, InlineError> {
            let mut file = w.into_inner().map_err(|e| e.into_error())?;
            file.seek(SeekFrom::Start(0))?;
            Ok(BufReader::with_capacity(4096, file))
        };
        Ok(Table {
            strings: reopen(strings)?,
            index: reopen(index)?,
            len,
        })
    }

    /// Appends string `i`'s inner XML to `out`.
    fn append(&mut self, i: u64, out: &mut Vec<u8>) -> Result<(), InlineError> {
        if i >= self.len {
            return Err(InlineError::NoString(i));
        }
        let mut entry = [0u8; 16];
        self.index.seek(SeekFrom::Start(i * 16))?;
        self.index.read_exact(&mut entry)?;
        let (offset, len) = entry.split_at(8);
        let offset = u64::from_le_bytes(offset.try_into().unwrap_or_default());
        let len = u64::from_le_bytes(len.try_into().unwrap_or_default());
        self.strings.seek(SeekFrom::Start(offset))?;
        let from = out.len();
        (&mut self.strings).take(len).read_to_end(out)?;
        if ((out.len() - from) as u64) < len {
            return Err(InlineError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(())
    }
}

/// Whether a cell's start tag says it holds a shared string (`t="s"`).
fn is_shared(cell: &BytesStart<'_>) -> bool {
    cell.attributes()
        .flatten()
        .any(|a| a.key.local_name().as_ref() == b"t" && a.value.as_ref() == b"s")
}

/// The cell's start tag with `t="inlineStr"` for `t="s"`.
fn inline_cell(cell: &BytesStart<'_>) -> BytesStart<'static> {
    let mut out = cell.to_owned();
    out.clear_attributes();
    for a in cell.attributes().flatten() {
        if a.key.local_name().as_ref() == b"t" {
            out.push_attribute((a.key.as_ref(), b"inlineStr".as_slice()));
        } else {
            out.push_attribute(a);
        }
    }
    out
}

/// The index a `<v>`'s text gives, as calamine reads it (anything but plain digits is 0).
fn index_of(text: &[u8]) -> u64 {
    std::str::from_utf8(text)
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

/// Copies one worksheet's XML, each shared-string cell's `<v>N</v>` replaced by
/// `<is>`string N's inner XML`</is>`.
fn inline_sheet<B: std::io::BufRead, W: Write>(
    part: B,
    out: &mut W,
    table: &mut Table,
) -> Result<(), InlineError> {
    let mut xml = Reader::from_reader(part);
    let mut sheet = Writer::new(BufWriter::new(out));
    let mut buf = Vec::new();
    let mut value = Vec::new();
    let mut inline = Vec::new();
    // Inside a shared-string cell; inside its `<v>`.
    let (mut shared, mut in_value) = (false, false);
    loop {
        buf.clear();
        let event = xml.read_event_into(&mut buf)?;
        match &event {
            Event::Eof => break,
            Event::Start(e) if e.local_name().as_ref() == b"c" && is_shared(e) => {
                shared = true;
                sheet.write_event(Event::Start(inline_cell(e)))?;
                continue;
            }
            Event::End(e) if e.local_name().as_ref() == b"c" => shared = false,
            Event::Start(e) if shared && e.local_name().as_ref() == b"v" => {
                in_value = true;
                value.clear();
                continue;
            }
            Event::Text(t) if in_value => {
                value.extend_from_slice(t.as_ref());
                continue;
            }
            Event::End(e) if in_value && e.local_name().as_ref() == b"v" => {
                in_value = false;
                inline.clear();
                inline.extend_from_slice(b"<is>");
                table.append(index_of(&value), &mut inline)?;
                inline.extend_from_slice(b"</is>");
                sheet.get_mut().write_all(&inline)?;
                continue;
            }
            // Anything else inside `<v>` (an entity) makes the index calamine's 0 as well.
            _ if in_value => {
                value.push(b'x');
                continue;
            }
            _ => {}
        }
        sheet.write_event(event)?;
    }
    sheet.into_inner().flush()?;
    Ok(())
}
