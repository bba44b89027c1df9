//! citygate-reader: reads a warrant, detainer, subpoena or order (text, PDF,
//! scan or photo) and says what it is, in the engine's vocabulary, with the
//! markers that decided it quoted by line.
//!
//! The classifier ([`classify_text`]) is pure: no I/O, no panics, OCR-tolerant.
//! [`read_files`] adds the I/O: it sniffs each file's type from its bytes, takes
//! a PDF's text layer with `pdftotext`, OCRs images and scanned pages with
//! `tesseract` (bounded by size, page, pixel and time limits), and combines the
//! files into a [`Packet`]. It never reports a judicial paper when an
//! administrative marker is present, and when unsure it says what is missing so
//! that the engine refers. It does not decide anything: that is the engine's job.

mod classify;
mod extract;
mod markers;
mod normalize;
mod packet;
mod reading;
pub mod source;

pub use classify::classify_text;
pub use extract::Fields;
pub use markers::Family;
pub use packet::{DocumentSource, FileReading, Packet, PacketReading, PageReading};
pub use reading::{Confidence, Evidence, Reading};
pub use source::{read_file, read_files, Format, Limits, ReadError, TextSource};
