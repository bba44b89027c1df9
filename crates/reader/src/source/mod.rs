//! The reader's I/O: files to page texts, within limits, then to a [`Packet`].
//!
//! The file's type is taken from its bytes, never from its name. PDFs go through
//! poppler's `pdfinfo`/`pdftotext` (text layer) and `pdftoppm` (scanned pages);
//! images and scanned pages through the `tesseract` program. Every external
//! program runs with a timeout, and sizes, pages and pixels are checked before
//! any decoding, so a hostile file costs bounded time and memory.

mod ocr;
mod pdf;
mod process;
mod sniff;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::packet::{FileReading, Packet};

pub use sniff::sniff;

/// What a file is, from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Plain text (UTF-8, or Latin-1 as a fallback).
    Text,
    /// A PDF (text layer, scanned, or both).
    Pdf,
    /// A PNG image.
    Png,
    /// A JPEG image (a phone photo).
    Jpeg,
    /// A TIFF image (a scanner's output).
    Tiff,
}

/// Where a page's text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSource {
    /// The file was text.
    Plain,
    /// A PDF's text layer.
    TextLayer,
    /// Optical character recognition of an image or a scanned page.
    Ocr,
}

/// Bounds on what one file may cost.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: u64,
    /// Most pages in one PDF.
    pub max_pages: usize,
    /// Most pixels in one image (width × height), checked from the header.
    pub max_pixels: u64,
    /// Longest side, in pixels, a scanned PDF page is rasterised to.
    pub raster_max_side: u32,
    /// Longest any one external program may run.
    pub tool_timeout: Duration,
    /// Most text kept from one file, in bytes.
    pub max_text_bytes: u64,
    /// Address-space cap for each external program, in bytes (via `prlimit`).
    pub max_tool_memory: u64,
    /// Tesseract languages, e.g. "eng" or "eng+spa".
    pub ocr_languages: String,
    /// Tesseract page segmentation mode. 6 (one block of text) reads every line
    /// of a form; 3 (automatic) dropped centred title lines on noisy photos.
    pub ocr_page_segmentation: u8,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 50 * 1024 * 1024,
            max_pages: 50,
            max_pixels: 50_000_000,
            raster_max_side: 3300,
            tool_timeout: Duration::from_secs(90),
            max_text_bytes: 4 * 1024 * 1024,
            max_tool_memory: 1024 * 1024 * 1024,
            ocr_languages: "eng".to_string(),
            ocr_page_segmentation: 6,
        }
    }
}

/// Why a file could not be read. Each names the file and says what to do; none
/// carries the document's content.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No file was given.
    #[error("no document given: name at least one file")]
    NoFiles,
    /// The file could not be opened or read.
    #[error("{file}: cannot read the file: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file has no bytes.
    #[error("{file}: the file is empty")]
    Empty { file: PathBuf },
    /// The file is over the size limit.
    #[error("{file}: the file is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        file: PathBuf,
        size: u64,
        limit: u64,
    },
    /// Not a type the reader knows, whatever its extension says.
    #[error("{file}: not a readable document ({what}); give a PDF, PNG, JPEG, TIFF or text file")]
    Unsupported { file: PathBuf, what: &'static str },
    /// A password-protected PDF.
    #[error("{file}: the PDF is encrypted with a password; ask for an unprotected copy or a photo of the paper")]
    Encrypted { file: PathBuf },
    /// A PDF with more pages than allowed.
    #[error("{file}: the PDF has {pages} pages, over the limit of {limit}; split it")]
    TooManyPages {
        file: PathBuf,
        pages: usize,
        limit: usize,
    },
    /// An image larger than allowed.
    #[error("{file}: the image is {width}x{height} pixels, over the limit of {limit} pixels; send a smaller photo")]
    TooManyPixels {
        file: PathBuf,
        width: u64,
        height: u64,
        limit: u64,
    },
    /// The file claims a type but its content is broken.
    #[error("{file}: damaged or truncated {what}")]
    Corrupt { file: PathBuf, what: &'static str },
    /// Nothing legible on any page.
    #[error("{file}: no text found (blank page, or the image is too unclear to read); take a sharper photo")]
    NoText { file: PathBuf },
    /// Tesseract has no data for a requested language.
    #[error("tesseract has no language data for \"{languages}\"; install tesseract-ocr-<lang> (eng and spa are installed by scripts/test)")]
    OcrLanguage { languages: String },
    /// An external program is not installed.
    #[error("the program `{tool}` is not installed (Debian package {package})")]
    ToolMissing {
        tool: &'static str,
        package: &'static str,
    },
    /// An external program failed.
    #[error("{file}: `{tool}` failed ({status})")]
    ToolFailed {
        file: PathBuf,
        tool: &'static str,
        status: String,
    },
    /// An external program ran too long and was stopped.
    #[error("{file}: `{tool}` took longer than {seconds} s and was stopped")]
    Timeout {
        file: PathBuf,
        tool: &'static str,
        seconds: u64,
    },
}

/// Read files as one packet with the default limits.
pub fn read_files(paths: &[PathBuf]) -> Result<Packet, ReadError> {
    read_files_with(paths, &Limits::default())
}

/// Read files as one packet.
pub fn read_files_with(paths: &[PathBuf], limits: &Limits) -> Result<Packet, ReadError> {
    if paths.is_empty() {
        return Err(ReadError::NoFiles);
    }
    let files = paths
        .iter()
        .map(|p| read_file(p, limits))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Packet::from_files(files))
}

/// Read one file: its type from its bytes, its pages' text, each page and the whole classified.
pub fn read_file(path: &Path, limits: &Limits) -> Result<FileReading, ReadError> {
    let (format, pages) = extract_pages(path, limits)?;
    if pages
        .iter()
        .all(|(text, _)| !text.chars().any(char::is_alphanumeric))
    {
        return Err(ReadError::NoText {
            file: path.to_path_buf(),
        });
    }
    Ok(FileReading::from_pages(
        path.display().to_string(),
        format,
        pages,
    ))
}

/// The text of each page, and the file's format.
pub fn extract_pages(
    path: &Path,
    limits: &Limits,
) -> Result<(Format, Vec<(String, TextSource)>), ReadError> {
    let file = path.to_path_buf();
    let io = |source| ReadError::Io {
        file: file.clone(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size == 0 {
        return Err(ReadError::Empty { file });
    }
    if size > limits.max_file_bytes {
        return Err(ReadError::TooLarge {
            file,
            size,
            limit: limits.max_file_bytes,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let format = sniff(&bytes).map_err(|what| ReadError::Unsupported {
        file: file.clone(),
        what,
    })?;
    let pages = match format {
        Format::Text => text_pages(&bytes),
        Format::Pdf => pdf::pages(path, limits)?,
        Format::Png | Format::Jpeg | Format::Tiff => {
            ocr::check_image(path, &bytes, limits)?;
            // A multi-page TIFF comes back with a form feed after each page.
            let text = ocr::recognise_oriented(path, limits)?;
            let mut pages: Vec<(String, TextSource)> = text
                .split('\u{c}')
                .map(|page| (page.to_string(), TextSource::Ocr))
                .collect();
            if pages.len() > 1 && pages.last().is_some_and(|(t, _)| t.trim().is_empty()) {
                pages.pop();
            }
            pages
        }
    };
    if format == Format::Text && pages.iter().all(|(t, _)| t.trim().is_empty()) {
        return Err(ReadError::Empty { file });
    }
    Ok((format, pages))
}

fn text_pages(bytes: &[u8]) -> Vec<(String, TextSource)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        // Old scanners and mail gateways write Latin-1; every byte maps to a char.
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    };
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.split('\u{c}')
        .map(|page| (page.to_string(), TextSource::Plain))
        .collect()
}
