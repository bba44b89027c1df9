//! Detector behaviour on hand-written cases: each identifier with its validator, context rules
//! for DOB and bare numbers, status phrases and their generic use, places, names in mixed case,
//! ALL CAPS and "LAST, FIRST", and propagation within a record.

use citygate_redaction::detect::FieldHint;
use citygate_redaction::{Confidence, EntityKind, FieldRole, Policy, Redactor};

fn redactor() -> Redactor {
    Redactor::new(Policy::shipped("foia-general").unwrap()).unwrap()
}

/// Kinds found (at or above the policy threshold) with their text.
fn found(r: &Redactor, text: &str) -> Vec<(EntityKind, String)> {
    let per_field = r.detect_record(&[(text, FieldRole::Scan(FieldHint::default()))]);
    per_field[0]
        .iter()
        .filter(|f| f.confidence >= Confidence::Likely)
        .map(|f| (f.kind, text[f.start..f.end].to_string()))
        .collect()
}

fn has(r: &Redactor, text: &str, kind: EntityKind, value: &str) -> bool {
    found(r, text).iter().any(|(k, v)| *k == kind && v == value)
}

fn kinds(r: &Redactor, text: &str) -> Vec<EntityKind> {
    found(r, text).into_iter().map(|(k, _)| k).collect()
}

#[test]
fn ssn_and_itin_by_range() {
    let r = redactor();
    assert!(has(
        &r,
        "SSN 512-44-9012 on file",
        EntityKind::Ssn,
        "512-44-9012"
    ));
    assert!(has(&r, "ssn: 512449012", EntityKind::Ssn, "512449012"));
    assert!(has(
        &r,
        "taxpayer ITIN 912-70-1234",
        EntityKind::Itin,
        "912-70-1234"
    ));
    // Invalid area numbers and mixed separators are not SSNs.
    assert!(kinds(&r, "ref 666-44-9012").is_empty());
    assert!(kinds(&r, "ref 000-44-9012").is_empty());
    assert!(!kinds(&r, "code 512-44 9012").contains(&EntityKind::Ssn));
}

#[test]
fn immigration_identifiers() {
    let r = redactor();
    assert!(has(
        &r,
        "A-number A201-234-567",
        EntityKind::ANumber,
        "A201-234-567"
    ));
    assert!(has(
        &r,
        "his A# 087654321 was",
        EntityKind::ANumber,
        "A# 087654321"
    ));
    assert!(has(
        &r,
        "alien registration number 201234567",
        EntityKind::ANumber,
        "201234567"
    ));
    assert!(has(
        &r,
        "receipt LIN2112345678",
        EntityKind::UscisReceipt,
        "LIN2112345678"
    ));
    assert!(has(
        &r,
        "receipt IOE-09-123-45678",
        EntityKind::UscisReceipt,
        "IOE-09-123-45678"
    ));
    assert!(has(
        &r,
        "I-94 number 12345678901",
        EntityKind::I94,
        "12345678901"
    ));
    assert!(has(&r, "I-94 123456789A1", EntityKind::I94, "123456789A1"));
    // An 11-digit number without the cue is not an I-94.
    assert!(!kinds(&r, "order 12345678901").contains(&EntityKind::I94));
}

#[test]
fn passports_need_context_or_mrz() {
    let r = redactor();
    assert!(has(
        &r,
        "passport no. C12345678",
        EntityKind::Passport,
        "C12345678"
    ));
    assert!(has(
        &r,
        "Pasaporte: G1234567",
        EntityKind::Passport,
        "G1234567"
    ));
    assert!(has(
        &r,
        "passport 123456789",
        EntityKind::Passport,
        "123456789"
    ));
    assert!(kinds(&r, "item C12345678 shipped").is_empty());
    let mrz = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
    let k = kinds(&r, mrz);
    assert!(
        k.contains(&EntityKind::Passport) && k.contains(&EntityKind::Person),
        "{k:?}"
    );
    // One wrong check digit: not a passport MRZ.
    let bad = "L898902C37UTO7408122F1204159ZE184226B<<<<<10";
    assert!(!kinds(&r, bad).contains(&EntityKind::Passport));
}

#[test]
fn illinois_dl_by_structure_or_cue() {
    let r = redactor();
    assert!(has(
        &r,
        "DL S530-4128-1234",
        EntityKind::DriverLicense,
        "S530-4128-1234"
    ));
    assert!(has(
        &r,
        "id S53041281650 seen",
        EntityKind::DriverLicense,
        "S53041281650"
    ));
    // Day code 400 is impossible and there is no cue.
    assert!(!kinds(&r, "part S530-4128-1400").contains(&EntityKind::DriverLicense));
}

#[test]
fn contact_and_financial() {
    let r = redactor();
    assert!(has(
        &r,
        "call (773) 555-2368 now",
        EntityKind::Phone,
        "(773) 555-2368"
    ));
    assert!(has(&r, "cell 7734567890", EntityKind::Phone, "7734567890"));
    assert!(has(
        &r,
        "mail maria.k@gmail.com",
        EntityKind::Email,
        "maria.k@gmail.com"
    ));
    assert!(has(
        &r,
        "from 73.12.200.5 at",
        EntityKind::IpAddress,
        "73.12.200.5"
    ));
    assert!(kinds(&r, "version 999.1.1.1").is_empty());
    assert!(has(
        &r,
        "card 4111 1111 1111 1111",
        EntityKind::CardNumber,
        "4111 1111 1111 1111"
    ));
    assert!(kinds(&r, "card 4111 1111 1111 1112").is_empty());
    assert!(has(
        &r,
        "routing 071000013",
        EntityKind::BankRouting,
        "071000013"
    ));
    assert!(has(
        &r,
        "account 123456789012",
        EntityKind::BankAccount,
        "123456789012"
    ));
    assert!(has(
        &r,
        "plate IL AB 12345.",
        EntityKind::LicensePlate,
        "AB 12345"
    ));
    assert!(has(
        &r,
        "CityKey CK-12345678",
        EntityKind::MunicipalId,
        "CK-12345678"
    ));
}

#[test]
fn dates_of_birth_only_in_context() {
    let r = redactor();
    assert!(has(
        &r,
        "DOB: 03/15/1987",
        EntityKind::DateOfBirth,
        "03/15/1987"
    ));
    assert!(has(
        &r,
        "born on March 15, 1987 in",
        EntityKind::DateOfBirth,
        "March 15, 1987"
    ));
    assert!(has(
        &r,
        "fecha de nacimiento: 15 de marzo de 1987",
        EntityKind::DateOfBirth,
        "15 de marzo de 1987"
    ));
    assert!(kinds(&r, "On 11/02/2026 officers arrived").is_empty());
    assert!(kinds(&r, "DOB: 13/45/1987").is_empty());
}

#[test]
fn addresses() {
    let r = redactor();
    assert!(has(
        &r,
        "lives at 2345 W Cermak Rd, Chicago, IL 60608.",
        EntityKind::StreetAddress,
        "2345 W Cermak Rd, Chicago, IL 60608"
    ));
    assert!(has(
        &r,
        "ADDRESS: 4996 E LAWRENCE AVE APT 3 ",
        EntityKind::StreetAddress,
        "4996 E LAWRENCE AVE APT 3"
    ));
    assert!(has(
        &r,
        "at 7552 S Broadway today",
        EntityKind::StreetAddress,
        "7552 S Broadway"
    ));
}

#[test]
fn status_phrases_but_not_generic_policy_text() {
    let r = redactor();
    assert!(has(
        &r,
        "He said he is undocumented.",
        EntityKind::ImmigrationStatus,
        "undocumented"
    ));
    assert!(has(
        &r,
        "She is a DACA recipient",
        EntityKind::ImmigrationStatus,
        "DACA recipient"
    ));
    assert!(has(
        &r,
        "dijo que es indocumentada",
        EntityKind::ImmigrationStatus,
        "indocumentada"
    ));
    assert!(has(
        &r,
        "he overstayed his visa",
        EntityKind::ImmigrationStatus,
        "overstayed his visa"
    ));
    assert!(!has(
        &r,
        "Services are provided regardless of undocumented status.",
        EntityKind::ImmigrationStatus,
        "undocumented"
    ));
    assert!(kinds(
        &r,
        "The city serves all residents regardless of immigration status."
    )
    .is_empty());
    // Lower-case acronym look-alikes are not status.
    assert!(kinds(&r, "the lead tps value").is_empty());
}

#[test]
fn place_of_birth_and_nationality() {
    let r = redactor();
    assert!(has(
        &r,
        "was born in Guadalajara, Mexico. Later",
        EntityKind::PlaceOfBirth,
        "Guadalajara, Mexico"
    ));
    assert!(has(
        &r,
        "a Guatemalan national",
        EntityKind::PlaceOfBirth,
        "Guatemalan"
    ));
    assert!(has(
        &r,
        "BORN IN MEXICO AND MOVED",
        EntityKind::PlaceOfBirth,
        "MEXICO"
    ));
    assert!(has(
        &r,
        "nacido en Honduras",
        EntityKind::PlaceOfBirth,
        "Honduras"
    ));
    assert!(kinds(&r, "He is from work.").is_empty());
}

#[test]
fn names_mixed_case_caps_and_last_first() {
    let r = redactor();
    assert!(has(
        &r,
        "Witness Maria Kowalski gave a statement",
        EntityKind::Person,
        "Maria Kowalski"
    ));
    assert!(has(
        &r,
        "ARRESTEE: GARCIA, JUAN C.  DOB",
        EntityKind::Person,
        "GARCIA, JUAN C."
    ));
    assert!(has(
        &r,
        "WITNESS JUAN HERNANDEZ (CELL",
        EntityKind::Person,
        "JUAN HERNANDEZ"
    ));
    assert!(has(
        &r,
        "interviewed Mr. Nguyen Thi Hoa at home",
        EntityKind::Person,
        "Nguyen Thi Hoa"
    ));
    assert!(has(
        &r,
        "My name is Łukasz Wiśniewski and",
        EntityKind::Person,
        "Łukasz Wiśniewski"
    ));
    // Streets, places and ordinary capitalised words are not names.
    assert!(!kinds(&r, "They met at Lincoln Park near the Lake.").contains(&EntityKind::Person));
    assert!(!kinds(&r, "OFFICERS DROVE TO THE DISTRICT").contains(&EntityKind::Person));
}

#[test]
fn propagation_within_a_record() {
    let r = redactor();
    let fields = [
        ("GARCIA, JUAN", FieldRole::Whole(EntityKind::Person)),
        ("512449012", FieldRole::Whole(EntityKind::Ssn)),
        (
            "Garcia stated his number 512449012 was stolen. JUAN left.",
            FieldRole::Scan(FieldHint::default()),
        ),
    ];
    let out = r.redact_record(&fields);
    let narrative = &out[2].text;
    assert!(
        !narrative.contains("Garcia")
            && !narrative.contains("JUAN")
            && !narrative.contains("512449012"),
        "{narrative}"
    );
    assert!(narrative.contains("stated his number"), "{narrative}");
}

/// Fields given back with `Redactor::recycle` lend their vectors to the next record: what it
/// gets is what a fresh redaction gets (nothing left over from the record before).
#[test]
fn recycled_fields_change_nothing() {
    let r = redactor();
    let key = |out: &[citygate_redaction::RedactedField<'_>]| {
        out.iter()
            .map(|f| {
                let applied: Vec<_> = f
                    .applied
                    .iter()
                    .map(|a| (a.start, a.end, a.kind, a.detector))
                    .collect();
                (f.text.to_string(), applied)
            })
            .collect::<Vec<_>>()
    };
    let first = [
        ("GARCIA, JUAN", FieldRole::Whole(EntityKind::Person)),
        (
            "SSN 512-44-9012, phone (773) 555-2368, Mr. Garcia",
            FieldRole::Scan(FieldHint::default()),
        ),
        ("A201234567", FieldRole::Whole(EntityKind::ANumber)),
    ];
    let second = [
        ("quiet", FieldRole::Scan(FieldHint::default())),
        ("512449012", FieldRole::Whole(EntityKind::Ssn)),
        (
            "number 512449012, no name here",
            FieldRole::Scan(FieldHint::default()),
        ),
    ];
    let fresh = key(&r.redact_record(&second));
    for _ in 0..3 {
        r.recycle(r.redact_record(&first));
        let again = r.redact_record(&second);
        assert_eq!(key(&again), fresh);
        r.recycle(again);
    }
}

/// Fields without a capital letter are not tokenized for names: the name detector, run on them
/// anyway, finds nothing, whatever the hints; with a capital (ASCII or not) they are.
#[test]
fn names_need_a_capital() {
    use citygate_redaction::detect::bytes::{ByteSet, CAPITALS};
    use citygate_redaction::detect::names::NameDetector;
    use citygate_redaction::detect::Detector;
    let r = redactor();
    let names = NameDetector::new();
    let person = FieldHint {
        person: true,
        ..Default::default()
    };
    for text in [
        "juan garcia",
        "garcia, juan c.",
        "mr. garcia and ms. lopez met dr. smith",
        "name: maria perez; dob 01/02/1980",
        "1234 n kostner ave",
        "",
    ] {
        assert!(
            !ByteSet::of(text.as_bytes()).intersects(&CAPITALS),
            "{text}"
        );
        for hint in [FieldHint::default(), person] {
            let ctx = r.chain().context_for(text, hint);
            let mut out = Vec::new();
            names.detect(text, &ctx, &mut out);
            assert!(out.is_empty(), "{text}: {out:?}");
        }
    }
    for text in [
        "Juan Garcia",
        "Ñuño garcía",
        "GARCIA, JUAN",
        "Élodie Martín",
    ] {
        assert!(ByteSet::of(text.as_bytes()).intersects(&CAPITALS), "{text}");
    }
    assert!(has(
        &r,
        "Witness Juan Garcia left",
        EntityKind::Person,
        "Juan Garcia"
    ));
}

#[test]
fn findings_are_on_char_boundaries_for_any_text() {
    let r = redactor();
    let nasty = "Ñandú 123-45-6789 é\u{0301} 𝔊arcía SSN 512-44-9012 \u{200b}A201234567 ü@ü.de 🙂 (773) 555-2368 Łódź";
    let out = r.redact_text(nasty);
    assert!(out.text.contains("Ñandú") && out.text.contains("🙂"));
    assert!(!out.text.contains("512-44-9012") && !out.text.contains("A201234567"));
}

#[test]
fn no_panic_on_random_text_tables_and_json() {
    use citygate_redaction::corpus::Rng;
    use citygate_redaction::formats::{json, table, text, MemorySink};
    let r = redactor();
    let palette: &[&str] = &[
        "A",
        "a",
        "Z",
        "0",
        "1",
        "9",
        "-",
        " ",
        "\n",
        ",",
        ".",
        "#",
        "<",
        "@",
        "\"",
        "'",
        "Ñ",
        "ł",
        "é",
        "𝔊",
        "🙂",
        "\u{200b}",
        "SSN ",
        "DOB ",
        "plate ",
        "born in ",
        "Mr. ",
        "GARCIA",
        "Maria",
        "undocumented",
        "A-",
        "LIN",
        "P<",
        "(",
        ")",
        "/",
        ":",
        "{",
        "}",
        "[",
        "]",
        "\t",
        "\r",
    ];
    let mut rng = Rng::new(42);
    for _ in 0..1500 {
        let len = rng.below(80) as usize;
        let s: String = (0..len).map(|_| *rng.pick(palette)).collect();
        let out = r.redact_text(&s);
        assert!(out
            .applied
            .iter()
            .all(|a| s.is_char_boundary(a.start) && s.is_char_boundary(a.end)));
        let mut sink = MemorySink::default();
        let _ = table::redact(
            &r,
            s.as_bytes(),
            Vec::new(),
            b',',
            "f.csv",
            &mut sink,
            &|_| {},
        );
        let _ = json::redact_lines(&r, s.as_bytes(), Vec::new(), "f.jsonl", &mut sink, &|_| {});
        let _ = text::redact(&r, s.as_bytes(), Vec::new(), "f.txt", &mut sink, &|_| {});
    }
}

#[test]
fn context_does_not_cross_a_sentence_end() {
    let r = redactor();
    let text = "He has an alien number of 221911344. Her social is 511 46 3720.";
    assert!(has(&r, text, EntityKind::ANumber, "221911344"));
    assert!(
        has(&r, text, EntityKind::Ssn, "511 46 3720"),
        "{:?}",
        found(&r, text)
    );
    // Abbreviations are not sentence ends.
    assert!(has(
        &r,
        "passport no. C12345678 seen",
        EntityKind::Passport,
        "C12345678"
    ));
    assert!(has(
        &r,
        "Driver's lic. S530-4128-1234",
        EntityKind::DriverLicense,
        "S530-4128-1234"
    ));
}
