//! One test per trap of legal.md § 4 and issue 3, plus the mapping to the
//! engine's request and the packet rules.

mod support;

use citygate_engine::vocab::{DocumentKind, Signer};
use citygate_reader::{classify_text, FileReading, Format, Packet, Reading, TextSource};
use support::corpus_dir;

fn read(file: &str) -> Reading {
    let text = std::fs::read_to_string(corpus_dir().join(file)).expect("corpus file");
    classify_text(&text)
}

fn file_reading(file: &str) -> FileReading {
    let text = std::fs::read_to_string(corpus_dir().join(file)).expect("corpus file");
    let pages = text
        .split('\u{c}')
        .map(|p| (p.to_string(), TextSource::Plain))
        .collect();
    FileReading::from_pages(file, Format::Text, pages)
}

fn assert_never_judicial(reading: &Reading) {
    for doc in reading.documents() {
        assert!(
            !matches!(
                doc.signed_by,
                Some(Signer::FederalJudge | Signer::MagistrateJudge | Signer::StateJudge)
            ),
            "a judge's signature was passed on from an uncertain or administrative paper: {doc:?}"
        );
    }
}

#[test]
fn i205_mentioning_a_district_or_magistrate_judge_is_administrative() {
    for file in [
        "i205_warrant_of_removal.txt",
        "i205_magistrate_box_checked.txt",
    ] {
        let r = read(file);
        assert_eq!(
            r.kind,
            Some(DocumentKind::CivilImmigrationWarrant),
            "{file}"
        );
        assert_eq!(r.signed_by, Some(Signer::ImmigrationOfficer), "{file}");
        assert!(!r.uncertain, "{file}: {:?}", r.reasons);
        assert!(r.evidence.iter().any(|e| e.marker == "I-205"), "{file}");
        assert_never_judicial(&r);
    }
}

#[test]
fn immigration_judge_order_is_not_judicial() {
    for file in ["ij_removal_order.txt", "ij_warrant_styled.txt"] {
        let r = read(file);
        assert_eq!(r.kind, Some(DocumentKind::ImmigrationJudgeOrder), "{file}");
        assert_eq!(r.signed_by, Some(Signer::ImmigrationJudge), "{file}");
        assert_never_judicial(&r);
    }
}

#[test]
fn ice_subpoena_under_1225d_is_administrative() {
    for file in ["ice_subpoena_1225d.txt", "ice_subpoena_records_cityid.txt"] {
        let r = read(file);
        assert_eq!(r.kind, Some(DocumentKind::AdministrativeSubpoena), "{file}");
        assert!(
            r.fields
                .statutes
                .iter()
                .any(|s| s.starts_with("8 U.S.C. § 1225(d)")),
            "{file}: {:?}",
            r.fields.statutes
        );
        assert!(
            r.fields
                .statutes
                .iter()
                .any(|s| s.starts_with("8 CFR 287.4")),
            "{file}: {:?}",
            r.fields.statutes
        );
    }
}

#[test]
fn detainer_stapled_to_court_order_is_uncertain_and_engine_gets_no_judge() {
    let r = read("detainer_stapled_court_order.txt");
    assert!(r.uncertain);
    assert_eq!(
        r.candidates,
        vec![DocumentKind::ImmigrationDetainer, DocumentKind::CourtOrder]
    );
    assert!(r.reasons[0].contains("refer to counsel"), "{:?}", r.reasons);
    // Both papers go to the engine, the court order without its signer.
    let docs = r.documents();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1].kind, DocumentKind::CourtOrder);
    assert_eq!(docs[1].signed_by, None);
    assert_never_judicial(&r);
}

#[test]
fn administrative_and_judicial_markers_together_are_uncertain() {
    for file in [
        "i205_with_district_court_order.txt",
        "dhs_warrant_judge_signature_line.txt",
    ] {
        let r = read(file);
        assert!(r.uncertain, "{file}");
        assert!(
            r.reasons
                .iter()
                .any(|x| x.contains("administrative markers") && x.contains("line")),
            "{file}: {:?}",
            r.reasons
        );
        assert_never_judicial(&r);
    }
}

#[test]
fn magistrate_warrant_for_1326_is_judicial_and_criminal() {
    for file in [
        "ao442_arrest_warrant_1326.txt",
        "ocr_judicial_warrant_allcaps.txt",
    ] {
        let r = read(file);
        assert_eq!(r.kind, Some(DocumentKind::JudicialWarrant), "{file}");
        assert_eq!(r.signed_by, Some(Signer::MagistrateJudge), "{file}");
        assert_eq!(r.criminal, Some(true), "{file}");
        assert!(!r.uncertain, "{file}: {:?}", r.reasons);
        assert!(
            r.fields
                .statutes
                .iter()
                .any(|s| s.starts_with("8 U.S.C. § 1326")),
            "{file}: {:?}",
            r.fields.statutes
        );
        let docs = r.documents();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].signed_by, Some(Signer::MagistrateJudge));
        assert_eq!(docs[0].criminal, Some(true));
    }
}

#[test]
fn judicial_paper_missing_signature_case_number_or_caption_is_uncertain() {
    for (file, missing) in [
        (
            "judicial_warrant_no_signature.txt",
            "no judge's signature line found",
        ),
        (
            "judicial_warrant_no_case_number.txt",
            "no case or docket number found",
        ),
        ("judicial_order_no_caption.txt", "no court caption found"),
    ] {
        let r = read(file);
        assert!(r.uncertain, "{file}");
        assert!(
            r.reasons.iter().any(|x| x.contains(missing)),
            "{file}: {:?}",
            r.reasons
        );
        for doc in r.documents() {
            assert_eq!(
                doc.signed_by, None,
                "{file}: an uncertain court paper must not carry a signer"
            );
            assert_eq!(doc.criminal, None, "{file}");
        }
    }
}

#[test]
fn body_sentence_naming_a_magistrate_is_not_a_signature_line() {
    let r = classify_text(
        "UNITED STATES DISTRICT COURT\nCase No. 1:26-mj-00001\nARREST WARRANT\nYOU ARE COMMANDED to arrest and bring before a\nUnited States magistrate judge without unnecessary delay\n",
    );
    assert!(r.uncertain);
    assert!(
        r.reasons
            .iter()
            .any(|x| x.contains("no judge's signature line found")),
        "{:?}",
        r.reasons
    );
}

#[test]
fn ocr_noise_is_tolerated() {
    let r = classify_text("DHS F0RM l-2OO\nWARRANT F0R ARREST\nOF ALlEN\n(Signature of Authorized lmmigration Officer)");
    assert_eq!(r.kind, Some(DocumentKind::CivilImmigrationWarrant));
    assert_eq!(r.fields.form_number.as_deref(), Some("I-200"));
    let r = classify_text("IMMIGRATION\nDETAINER - NOTICE OF ACTI0N\nDHS FORM 1-247A");
    assert_eq!(r.kind, Some(DocumentKind::ImmigrationDetainer));
}

#[test]
fn evidence_quotes_the_line_as_printed() {
    let r = read("i247a_detainer.txt");
    let form = r
        .evidence
        .iter()
        .find(|e| e.marker == "I-247A")
        .expect("form marker");
    assert_eq!(form.line, 28);
    assert!(form.quote.starts_with("DHS Form I-247A"), "{}", form.quote);
}

#[test]
fn nothing_recognised_gives_unknown_documents() {
    let r = read("unknown_letter.txt");
    assert!(r.uncertain);
    assert!(r.documents().is_empty());
    let packet = Packet::from_files(vec![file_reading("unknown_letter.txt")]);
    assert_eq!(
        packet.documents(),
        None,
        "the engine must be told the document is unknown"
    );
}

#[test]
fn detainer_plus_its_i200_is_a_detainer_packet() {
    let packet = Packet::from_files(vec![
        file_reading("i247a_detainer.txt"),
        file_reading("i200_warrant_for_arrest.txt"),
    ]);
    assert!(!packet.overall.uncertain, "{:?}", packet.overall.reasons);
    assert_eq!(packet.overall.kind, Some(DocumentKind::ImmigrationDetainer));
    let docs = packet.documents().expect("documents");
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1].kind, DocumentKind::CivilImmigrationWarrant);
    let sources = packet.sources();
    assert_eq!(sources[0].file, "i247a_detainer.txt");
    assert!(sources[0].evidence.iter().any(|e| e.marker == "I-247A"));
}

#[test]
fn detainer_and_court_order_in_separate_files_are_uncertain() {
    let packet = Packet::from_files(vec![
        file_reading("i247a_detainer.txt"),
        file_reading("cook_county_court_order.txt"),
    ]);
    assert!(packet.overall.uncertain);
    assert!(
        packet
            .overall
            .reasons
            .iter()
            .any(|r| r.contains("refer to counsel")),
        "{:?}",
        packet.overall.reasons
    );
    for doc in packet.documents().expect("documents") {
        assert!(
            !matches!(doc.signed_by, Some(Signer::StateJudge)),
            "{doc:?}"
        );
    }
}

#[test]
fn pages_are_read_each_and_as_a_whole() {
    let f = file_reading("detainer_stapled_court_order.txt");
    assert_eq!(f.pages.len(), 2);
    assert_eq!(
        f.pages[0].reading.kind,
        Some(DocumentKind::ImmigrationDetainer)
    );
    assert_eq!(f.pages[1].reading.kind, Some(DocumentKind::CourtOrder));
    assert!(f.reading.uncertain);
}
