//! The ordered rules of legal.md § 4.2, applied to the markers of one document.
//!
//! Order matters and is the point of this module:
//! 1. administrative and judicial markers together → uncertain (refer), never judicial;
//! 2. judicial markers → a court paper, but only with caption, case number and
//!    signature line all present; otherwise uncertain naming what is missing;
//! 3. a consent, records request or agreement titled as such at the head;
//! 4. administrative markers → detainer, civil warrant, immigration judge's
//!    order or administrative subpoena;
//! 5. anything else → uncertain, nothing recognised.

use citygate_engine::vocab::{DocumentKind, Signer};

use crate::extract;
use crate::markers::{self, Family, Found};
use crate::normalize::NormalizedText;
use crate::reading::{Confidence, Evidence, Reading};

/// Lines at the head of a document where its own title is printed.
const HEAD_LINES: usize = 12;

/// Classify the text of one document (pages separated by form feeds).
pub fn classify_text(text: &str) -> Reading {
    let normalized = NormalizedText::new(text);
    let found = markers::find(&normalized);
    classify(&normalized, &found)
}

fn classify(text: &NormalizedText, found: &[Found]) -> Reading {
    let has = |family: Family| found.iter().any(|f| f.family == family);
    let administrative: Vec<&Found> = found
        .iter()
        .filter(|f| f.family.is_administrative())
        .collect();
    let judicial: Vec<&Found> = found.iter().filter(|f| f.family.is_judicial()).collect();
    let head_kind = head_title_kind(found);
    // A titled court paper with a case number whose caption and signature were
    // lost (a bad photo) is still read as a court paper, uncertain, not as nothing.
    let court_like = has(Family::CaseNumber)
        && [
            Family::WarrantTitle,
            Family::SearchWarrant,
            Family::OrderTitle,
            Family::Subpoena,
        ]
        .iter()
        .any(|f| has(*f));

    let mut outcome = if !administrative.is_empty() && !judicial.is_empty() {
        conflict(found, &administrative, &judicial, text)
    } else if !judicial.is_empty()
        || (court_like && administrative.is_empty() && head_kind.is_none())
    {
        judicial_reading(found)
    } else if let Some(kind) = head_kind {
        Outcome::sure(kind, None, None)
    } else if !administrative.is_empty() {
        administrative_reading(found)
    } else if let Some(kind) = other_kind(found) {
        Outcome::sure(kind, None, None)
    } else {
        Outcome::unsure(None, vec![], "no document markers found: not a recognised warrant, detainer, order, subpoena, consent, request or agreement".into())
    };

    if outcome.kind.is_some() && !outcome.uncertain && outcome.candidates.is_empty() {
        outcome.candidates = outcome.kind.into_iter().collect();
    }
    let families: std::collections::BTreeSet<Family> = found.iter().map(|f| f.family).collect();
    let confidence = if outcome.uncertain {
        Confidence::Low
    } else if families.len() >= 3 || (has(Family::DhsForm) && has(Family::AdminTitle)) {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Reading {
        kind: outcome.kind,
        candidates: outcome.candidates,
        uncertain: outcome.uncertain,
        reasons: outcome.reasons,
        signed_by: outcome.signed_by,
        criminal: outcome.criminal,
        confidence,
        fields: extract::fields(text, found),
        evidence: found.iter().map(|f| evidence(text, f)).collect(),
    }
}

struct Outcome {
    kind: Option<DocumentKind>,
    candidates: Vec<DocumentKind>,
    uncertain: bool,
    reasons: Vec<String>,
    signed_by: Option<Signer>,
    criminal: Option<bool>,
}

impl Outcome {
    fn sure(kind: DocumentKind, signed_by: Option<Signer>, criminal: Option<bool>) -> Self {
        Outcome {
            kind: Some(kind),
            candidates: vec![kind],
            uncertain: false,
            reasons: vec![],
            signed_by,
            criminal,
        }
    }

    fn unsure(kind: Option<DocumentKind>, candidates: Vec<DocumentKind>, reason: String) -> Self {
        Outcome {
            kind,
            candidates,
            uncertain: true,
            reasons: vec![reason],
            signed_by: None,
            criminal: None,
        }
    }
}

fn describe(text: &NormalizedText, f: &Found) -> String {
    let line = text.lines.get(f.line_index).map_or(0, |l| l.number);
    format!("\"{}\" (line {line})", f.label)
}

/// Administrative and judicial markers on one paper: a detainer stapled to an
/// order, or a form that quotes a court. Never judicial; counsel decides.
fn conflict(
    found: &[Found],
    administrative: &[&Found],
    judicial: &[&Found],
    text: &NormalizedText,
) -> Outcome {
    let admin = administrative_reading(found);
    let court = judicial_reading(found);
    let candidates: Vec<DocumentKind> = admin.kind.into_iter().chain(court.kind).collect();
    let reason = format!(
        "administrative markers ({}) and judicial markers ({}) on the same document: refer to counsel",
        administrative.iter().take(2).map(|f| describe(text, f)).collect::<Vec<_>>().join(", "),
        judicial.iter().take(2).map(|f| describe(text, f)).collect::<Vec<_>>().join(", "),
    );
    let mut outcome = Outcome::unsure(admin.kind, candidates, reason);
    // The administrative signer is kept: it can never make the engine comply.
    outcome.signed_by = admin.signed_by;
    outcome.criminal = admin.criminal;
    outcome
}

fn judicial_reading(found: &[Found]) -> Outcome {
    let has = |family: Family| found.iter().any(|f| f.family == family);
    let subpoena = has(Family::Subpoena);
    let kind = if has(Family::GrandJury) && subpoena {
        Some(DocumentKind::GrandJurySubpoena)
    } else if subpoena {
        Some(DocumentKind::CourtSubpoena)
    } else if has(Family::WarrantTitle) || has(Family::SearchWarrant) {
        Some(DocumentKind::JudicialWarrant)
    } else if has(Family::OrderTitle) {
        Some(DocumentKind::CourtOrder)
    } else {
        None
    };
    let mut missing = Vec::new();
    if !has(Family::CourtCaption) {
        missing.push("no court caption found (e.g. \"United States District Court\", \"Circuit Court of Cook County\")".to_string());
    }
    if !has(Family::CaseNumber) {
        missing.push("no case or docket number found".to_string());
    }
    let judge = judge_signer(found);
    let clerk = has(Family::ClerkSignature).then_some(Signer::Other);
    let signed_by = match kind {
        Some(DocumentKind::CourtSubpoena | DocumentKind::GrandJurySubpoena) => {
            if judge.is_none() && clerk.is_none() {
                missing.push("no signature line found (clerk, attorney or judge)".to_string());
            }
            judge.or(clerk)
        }
        _ => {
            if judge.is_none() {
                missing.push("no judge's signature line found".to_string());
            }
            judge
        }
    };
    if kind.is_none() {
        missing.push("court markers but no title saying warrant, order or subpoena".to_string());
    }
    let criminal = match kind {
        Some(DocumentKind::JudicialWarrant) => has(Family::CriminalCitation).then_some(true),
        _ => None,
    };
    let mut outcome = Outcome {
        kind,
        candidates: kind.into_iter().collect(),
        uncertain: !missing.is_empty(),
        reasons: missing,
        signed_by,
        criminal,
    };
    if outcome.uncertain && kind.is_some() {
        outcome.reasons.push(
            "a court paper is trusted only with caption, case number and signature line"
                .to_string(),
        );
    }
    outcome
}

fn judge_signer(found: &[Found]) -> Option<Signer> {
    found
        .iter()
        .filter(|f| f.family == Family::JudgeSignature)
        .find_map(|f| {
            let label = f.label.to_ascii_uppercase();
            if label.contains("MAGISTRATE") {
                Some(Signer::MagistrateJudge)
            } else if label.contains("DISTRICT JUDGE") {
                Some(Signer::FederalJudge)
            } else if label.contains("JUDGE") {
                Some(Signer::StateJudge)
            } else {
                None
            }
        })
}

fn administrative_reading(found: &[Found]) -> Outcome {
    let has = |family: Family| found.iter().any(|f| f.family == family);
    let form = |prefix: &str| {
        found
            .iter()
            .any(|f| f.family == Family::DhsForm && f.label.starts_with(prefix))
    };
    let title = |label: &str| {
        found
            .iter()
            .any(|f| f.family == Family::AdminTitle && f.label.eq_ignore_ascii_case(label))
    };
    let officer = Some(Signer::ImmigrationOfficer);
    let eoir_header = found.iter().any(|f| {
        f.family == Family::ImmigrationCourt
            && (f.label.contains("Executive") || f.label == "Immigration Court")
    });
    let detainer = form("I-247")
        || [
            "Immigration Detainer",
            "Request for Voluntary Action",
            "Request for Voluntary Notification",
            "Request for Voluntary Transfer",
            "Immigration Enforcement Priority",
        ]
        .iter()
        .any(|t| title(t));
    let warrant_form = ["I-200", "I-203", "I-205", "I-286", "I-862", "I-213"]
        .iter()
        .any(|f| form(f));
    let warrant_title = [
        "Warrant for Arrest of Alien",
        "Warrant of Removal",
        "Notice to Appear",
        "Order to Detain or Release",
        "Notice of Custody Determination",
        "Immigration Violator",
    ]
    .iter()
    .any(|t| title(t));
    let subpoena = has(Family::Subpoena) || form("I-138") || title("Immigration Subpoena");
    if detainer {
        Outcome::sure(DocumentKind::ImmigrationDetainer, officer, Some(false))
    } else if warrant_form {
        Outcome::sure(DocumentKind::CivilImmigrationWarrant, officer, Some(false))
    } else if eoir_header {
        Outcome::sure(
            DocumentKind::ImmigrationJudgeOrder,
            Some(Signer::ImmigrationJudge),
            Some(false),
        )
    } else if warrant_title {
        Outcome::sure(DocumentKind::CivilImmigrationWarrant, officer, Some(false))
    } else if subpoena {
        Outcome::sure(DocumentKind::AdministrativeSubpoena, officer, None)
    } else if has(Family::ImmigrationCourt) {
        Outcome::sure(
            DocumentKind::ImmigrationJudgeOrder,
            Some(Signer::ImmigrationJudge),
            Some(false),
        )
    } else {
        Outcome::unsure(
            None,
            vec![],
            "administrative (DHS/ICE) markers but no form number or title that says which paper this is".into(),
        )
    }
}

/// A consent, records request or agreement whose own title is at its head.
fn head_title_kind(found: &[Found]) -> Option<DocumentKind> {
    found
        .iter()
        .filter(|f| f.line_index < HEAD_LINES)
        .find_map(|f| other_family_kind(f.family))
}

fn other_kind(found: &[Found]) -> Option<DocumentKind> {
    found.iter().find_map(|f| other_family_kind(f.family))
}

fn other_family_kind(family: Family) -> Option<DocumentKind> {
    match family {
        Family::Consent => Some(DocumentKind::WrittenConsent),
        Family::RecordsRequest => Some(DocumentKind::RecordsRequest),
        Family::Agreement => Some(DocumentKind::Agreement),
        _ => None,
    }
}

fn evidence(text: &NormalizedText, f: &Found) -> Evidence {
    let (page, line, quote) = text
        .lines
        .get(f.line_index)
        .map(|l| (l.page, l.number, l.original.chars().take(160).collect()))
        .unwrap_or((0, 0, String::new()));
    Evidence {
        family: f.family,
        marker: f.label.clone(),
        page,
        line,
        quote,
    }
}
