//! PDF: the text layer only, page by page, released as redacted plain text with page markers
//! (`===== page N =====`). Drawing boxes over a live text layer is not redaction; a redacted PDF
//! would have to remove text objects or rasterise, which this format does not attempt. Scanned
//! pages without a text layer come out empty and are reported for review.

use std::io::{Read, Write};

use super::{report_field, FileReport, FormatError, Sink};
use crate::log::Location;
use crate::redactor::{FieldRole, Redactor};

/// Largest PDF read.
pub const MAX_PDF_BYTES: u64 = 512 * 1024 * 1024;

/// Redacts a PDF's text layer; `output` receives text. The whole document is one record.
pub fn redact<R: Read, W: Write>(
    redactor: &Redactor,
    input: R,
    mut output: W,
    file: &str,
    sink: &mut dyn Sink,
) -> Result<FileReport, FormatError> {
    let bytes = super::read_bounded(input, MAX_PDF_BYTES, file, || {
        format!("PDF larger than {MAX_PDF_BYTES} bytes")
    })?;
    // The PDF parser can panic on malformed files; a bad file must be an error, not a crash.
    let pages = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(&bytes))
        .map_err(|_| FormatError::Unsupported {
            file: file.to_string(),
            message: "malformed PDF: the text layer could not be read".into(),
        })?
        .map_err(|e| FormatError::Unsupported {
            file: file.to_string(),
            message: format!("unreadable PDF ({})", pdf_error_kind(&e)),
        })?;
    let fields: Vec<(&str, FieldRole)> = pages
        .iter()
        .map(|p| (p.as_str(), FieldRole::Scan(Default::default())))
        .collect();
    let redacted = redactor.redact_record(&fields);
    let mut report = FileReport {
        file: file.to_string(),
        format: "pdf".into(),
        bytes: bytes.len() as u64,
        records: pages.len() as u64,
        ..Default::default()
    };
    for (i, (page, field)) in pages.iter().zip(&redacted).enumerate() {
        let location = |pos: usize| Location::Page {
            page: i as u64 + 1,
            line: 1 + memchr::memchr_iter(b'\n', &page.as_bytes()[..pos]).count() as u64,
        };
        report_field(redactor, file, page, field, &location, sink, &mut report)?;
        let marker = if page.trim().is_empty() {
            " (no text layer: review the image separately)"
        } else {
            ""
        };
        writeln!(output, "===== page {}{marker} =====", i + 1)
            .map_err(|e| FormatError::io(file, e))?;
        output
            .write_all(field.text.as_bytes())
            .map_err(|e| FormatError::io(file, e))?;
        output
            .write_all(b"\n")
            .map_err(|e| FormatError::io(file, e))?;
    }
    output.flush().map_err(|e| FormatError::io(file, e))?;
    Ok(report)
}

fn pdf_error_kind(e: &pdf_extract::OutputError) -> &'static str {
    match e {
        pdf_extract::OutputError::FormatError(_) => "format error",
        pdf_extract::OutputError::IoError(_) => "I/O error",
        pdf_extract::OutputError::PdfError(_) => "PDF structure error",
    }
}
