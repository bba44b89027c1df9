//! Several pages and files read as one packet (a detainer and its I-200; a
//! detainer stapled to a court order). Pure: built from texts already extracted.

use citygate_engine::vocab::{Document, DocumentKind};
use serde::Serialize;

use crate::classify::classify_text;
use crate::reading::{is_administrative_kind, is_judicial_kind, Evidence, Reading};
use crate::source::{Format, TextSource};

/// The reading of one page of a file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageReading {
    /// 1-based page number.
    pub page: usize,
    /// Where its text came from.
    pub source: TextSource,
    /// The page read on its own.
    pub reading: Reading,
}

/// One file: each page on its own, and the file read as a whole (a caption on
/// page 1 and the judge's signature on page 2 make one warrant).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReading {
    /// The file as named on the command line.
    pub file: String,
    /// What the file turned out to be (from its bytes, not its name).
    pub format: Format,
    /// Each page.
    pub pages: Vec<PageReading>,
    /// The whole file.
    pub reading: Reading,
}

impl FileReading {
    /// Read a file from its pages' texts.
    pub fn from_pages(
        file: impl Into<String>,
        format: Format,
        pages: Vec<(String, TextSource)>,
    ) -> Self {
        let whole = pages
            .iter()
            .map(|(text, _)| text.as_str())
            .collect::<Vec<_>>()
            .join("\n\u{c}");
        let pages = pages
            .into_iter()
            .enumerate()
            .map(|(i, (text, source))| PageReading {
                page: i + 1,
                source,
                reading: classify_text(&text),
            })
            .collect();
        FileReading {
            file: file.into(),
            format,
            pages,
            reading: classify_text(&whole),
        }
    }
}

/// What the packet is as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PacketReading {
    /// The kind that governs: a detainer packet is a detainer; `None` if nothing was recognised.
    pub kind: Option<DocumentKind>,
    /// Not sure: the engine must refer.
    pub uncertain: bool,
    /// Why, naming the file and what is missing or in conflict.
    pub reasons: Vec<String>,
}

/// A document given to the engine and where it was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentSource {
    /// The fact given to the engine.
    pub document: Document,
    /// The file it was read from.
    pub file: String,
    /// The markers that support it.
    pub evidence: Vec<Evidence>,
}

/// Files read together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Packet {
    /// Each file in the order given.
    pub files: Vec<FileReading>,
    /// The packet as a whole.
    pub overall: PacketReading,
}

impl Packet {
    /// Combine file readings into a packet.
    pub fn from_files(files: Vec<FileReading>) -> Self {
        let mut reasons = Vec::new();
        for f in &files {
            if f.reading.uncertain {
                reasons.extend(f.reading.reasons.iter().map(|r| format!("{}: {r}", f.file)));
            }
        }
        let kinds: Vec<(&str, DocumentKind)> = files
            .iter()
            .flat_map(|f| {
                f.reading
                    .candidates
                    .iter()
                    .map(move |k| (f.file.as_str(), *k))
            })
            .collect();
        let admin = kinds.iter().find(|(_, k)| is_administrative_kind(*k));
        let court = kinds.iter().find(|(_, k)| is_judicial_kind(*k));
        if let (Some((admin_file, admin_kind)), Some((court_file, court_kind))) = (admin, court) {
            if files.len() > 1 && admin_file != court_file {
                reasons.push(format!(
                    "an administrative paper ({admin_file}: {admin_kind}) is presented with a court paper ({court_file}: {court_kind}): refer to counsel"
                ));
            }
        }
        let kind = kinds
            .iter()
            .map(|(_, k)| *k)
            .find(|k| *k == DocumentKind::ImmigrationDetainer)
            .or_else(|| kinds.iter().map(|(_, k)| *k).find(|k| is_judicial_kind(*k)))
            .or_else(|| kinds.first().map(|(_, k)| *k));
        let uncertain = !reasons.is_empty() || files.is_empty();
        Packet {
            files,
            overall: PacketReading {
                kind,
                uncertain,
                reasons,
            },
        }
    }

    /// The documents for the engine's request, with the file each came from.
    /// When the packet is uncertain no court paper keeps its signer or `criminal`,
    /// so the engine cannot comply on it.
    pub fn sources(&self) -> Vec<DocumentSource> {
        let mut out = Vec::new();
        for f in &self.files {
            for mut document in f.reading.documents() {
                if self.overall.uncertain && is_judicial_kind(document.kind) {
                    document.signed_by = None;
                    document.criminal = None;
                }
                // Each document is shown with the markers that point to its kind.
                let evidence = f
                    .reading
                    .evidence
                    .iter()
                    .filter(|e| {
                        if is_judicial_kind(document.kind) {
                            !e.family.is_administrative()
                        } else if is_administrative_kind(document.kind) {
                            !e.family.is_judicial()
                        } else {
                            true
                        }
                    })
                    .cloned()
                    .collect();
                out.push(DocumentSource {
                    document,
                    file: f.file.clone(),
                    evidence,
                });
            }
        }
        out
    }

    /// The request's `documents`: `None` (unknown, so the engine asks) when no
    /// document could be recognised at all.
    pub fn documents(&self) -> Option<Vec<Document>> {
        let documents: Vec<Document> = self.sources().into_iter().map(|s| s.document).collect();
        (!documents.is_empty()).then_some(documents)
    }
}
