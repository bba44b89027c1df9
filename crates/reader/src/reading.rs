//! What the reader says about one document: kind, signer, certainty, fields and evidence.

use citygate_engine::vocab::{Document, DocumentKind, Signer};
use serde::Serialize;

use crate::extract::Fields;
use crate::markers::Family;

/// How sure the reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Uncertain: the engine must refer.
    Low,
    /// One family of markers says what the document is.
    Medium,
    /// Several independent families agree (form, title, signer, caption, case number).
    High,
}

/// One marker that decided the reading, quoted from the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// What kind of marker.
    pub family: Family,
    /// The marker in canonical form ("I-247A", "United States Magistrate Judge").
    pub marker: String,
    /// 1-based page.
    pub page: usize,
    /// 1-based line in the file.
    pub line: usize,
    /// The line as printed (clipped to 160 characters).
    pub quote: String,
}

/// The reading of one document (a page, a file, or a file read as a whole).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    /// The kind as read; `None` when nothing recognisable was found.
    pub kind: Option<DocumentKind>,
    /// Every kind the markers point to: one normally, two when administrative and
    /// judicial markers conflict.
    pub candidates: Vec<DocumentKind>,
    /// The reader is not sure; the engine must refer.
    pub uncertain: bool,
    /// Why it is uncertain, naming what is missing or in conflict.
    pub reasons: Vec<String>,
    /// Who signed, where the signature block says so.
    pub signed_by: Option<Signer>,
    /// For warrants: issued for a criminal offence (`Some(false)` for civil immigration papers).
    pub criminal: Option<bool>,
    /// How sure.
    pub confidence: Confidence,
    /// Particulars read off the document.
    pub fields: Fields,
    /// The markers found, each quoted with its line.
    pub evidence: Vec<Evidence>,
}

impl Reading {
    /// What the engine should be told about this document.
    ///
    /// A sure reading gives one document with everything read. An uncertain one
    /// gives every candidate kind with nothing that could let the engine comply:
    /// judicial candidates carry no signer and no `criminal`, so the engine refers.
    pub fn documents(&self) -> Vec<Document> {
        if !self.uncertain {
            return self
                .kind
                .map(|kind| document(kind, self.signed_by, self.criminal))
                .into_iter()
                .collect();
        }
        self.candidates
            .iter()
            .map(|&kind| {
                if is_judicial_kind(kind) {
                    document(kind, None, None)
                } else {
                    document(
                        kind,
                        self.signed_by.filter(|s| !is_judge(*s)),
                        self.criminal,
                    )
                }
            })
            .collect()
    }
}

fn document(kind: DocumentKind, signed_by: Option<Signer>, criminal: Option<bool>) -> Document {
    Document {
        kind,
        signed_by,
        criminal,
        verified: None,
    }
}

/// Court-issued kinds: the ones that could let the engine comply.
pub fn is_judicial_kind(kind: DocumentKind) -> bool {
    matches!(
        kind,
        DocumentKind::JudicialWarrant
            | DocumentKind::CourtOrder
            | DocumentKind::CourtSubpoena
            | DocumentKind::GrandJurySubpoena
    )
}

/// Executive-branch immigration papers.
pub fn is_administrative_kind(kind: DocumentKind) -> bool {
    matches!(
        kind,
        DocumentKind::CivilImmigrationWarrant
            | DocumentKind::ImmigrationDetainer
            | DocumentKind::AdministrativeSubpoena
            | DocumentKind::ImmigrationJudgeOrder
    )
}

fn is_judge(signer: Signer) -> bool {
    matches!(
        signer,
        Signer::FederalJudge | Signer::MagistrateJudge | Signer::StateJudge
    )
}
