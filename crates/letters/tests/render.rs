//! Every default letter renders as tagged PDF whose text (read back with
//! poppler's `pdftotext`) carries the data; data cannot inject markup; broken
//! templates give errors with a line and column; nothing panics.

use std::io::Write;
use std::process::Command;

use citygate_letters::{
    check_template, default_template, render_pdf, Lang, LetterData, LetterError, LetterKind,
    Letters, Provision,
};
use lopdf::{Document, Object};

/// The PDF's text, whitespace collapsed (pdftotext breaks lines where the
/// letter wraps them).
fn text_of(pdf: &[u8]) -> String {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(pdf).expect("write pdf");
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(file.path())
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed");
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    collapse(&String::from_utf8_lossy(&out.stdout))
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn data(kind: LetterKind, lang: Lang) -> LetterData {
    let mut d = LetterData::sample(kind, lang);
    d.requester = Some("Rosalind Quintana-Oyelaran".into());
    d.outcome = format!("Outcome marker {} {}", kind.as_str(), lang.code());
    d.provisions = vec![
        Provision {
            id: "chicago.wco.2-173-020.a1C".into(),
            citation: "MCC 2-173-020(a)(1)(C)".into(),
            excerpt: "No agent or agency shall detain a person on the basis of a detainer.".into(),
        },
        Provision {
            id: "illinois.trust.15a".into(),
            citation: "5 ILCS 805/15(a)".into(),
            excerpt: "Shall not detain any individual solely on the basis of a detainer.".into(),
        },
        Provision {
            id: "federal.usc.8-1373".into(),
            citation: "8 U.S.C. § 1373(a)".into(),
            excerpt: "May not prohibit sending to ICE information regarding status.".into(),
        },
    ];
    d
}

/// The catalog of a PDF, parsed.
struct Catalog {
    marked: bool,
    struct_tree: bool,
    lang: Option<String>,
    display_title: bool,
}

fn catalog(pdf: &[u8]) -> Catalog {
    let doc = Document::load_mem(pdf).expect("a PDF lopdf can parse");
    let cat = doc.catalog().expect("a catalog");
    let marked = cat
        .get(b"MarkInfo")
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, o)| o.as_dict().ok())
        .and_then(|d| d.get(b"Marked").ok())
        .and_then(|o| o.as_bool().ok())
        .unwrap_or(false);
    let struct_tree = cat
        .get(b"StructTreeRoot")
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .map(|(_, o)| matches!(o, Object::Dictionary(d) if d.has(b"K")))
        .unwrap_or(false);
    let lang = cat
        .get(b"Lang")
        .ok()
        .and_then(|o| o.as_str().ok())
        .map(|s| String::from_utf8_lossy(s).into_owned());
    let display_title = cat
        .get(b"ViewerPreferences")
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, o)| o.as_dict().ok())
        .and_then(|d| d.get(b"DisplayDocTitle").ok())
        .and_then(|o| o.as_bool().ok())
        .unwrap_or(false);
    Catalog {
        marked,
        struct_tree,
        lang,
        display_title,
    }
}

#[test]
fn every_letter_renders_with_its_data_as_tagged_pdf() {
    for kind in LetterKind::ALL {
        for lang in Lang::ALL {
            let d = data(kind, lang);
            let pdf = render_pdf(default_template(kind, lang), &d)
                .unwrap_or_else(|e| panic!("{kind:?} {lang:?}: {e}"));
            assert!(pdf.starts_with(b"%PDF-"), "{kind:?} {lang:?}");
            let text = text_of(&pdf);
            let who = format!("{kind:?} {lang:?}");
            for needle in [
                d.requester.as_deref().unwrap_or_default(),
                &d.outcome,
                &d.agency_name,
                &d.subject,
                &d.date,
                &d.rules_hash[..12],
                d.case_id.as_deref().unwrap_or_default(),
                d.notes.as_deref().unwrap_or_default(),
            ] {
                assert!(
                    text.contains(&collapse(needle)),
                    "{who}: {needle:?} missing from {text}"
                );
            }
            for p in &d.provisions {
                assert!(
                    text.contains(&p.citation),
                    "{who}: citation {:?} missing",
                    p.citation
                );
            }
            // The memo to counsel quotes the provisions; letters to the
            // requester cite them only.
            let excerpt = &d.provisions[0].excerpt;
            assert_eq!(
                text.contains(excerpt.as_str()),
                kind == LetterKind::Referral,
                "{who}: excerpt shown only in the memo"
            );
            let cat = catalog(&pdf);
            assert!(cat.marked, "{who}: /MarkInfo /Marked true");
            assert!(cat.struct_tree, "{who}: /StructTreeRoot with children");
            let expected_lang = match lang {
                Lang::En => "en-US",
                Lang::Es => "es",
            };
            assert_eq!(cat.lang.as_deref(), Some(expected_lang), "{who}: /Lang");
            assert!(cat.display_title, "{who}: title shown by viewers");
            assert!(claims_pdf_ua(&pdf), "{who}: PDF/UA-1");
        }
    }
}

#[test]
fn the_phone_is_shown_when_set_and_the_letter_copes_without_it() {
    for kind in [LetterKind::Declination, LetterKind::Acknowledgment] {
        for lang in Lang::ALL {
            let mut d = data(kind, lang);
            d.law_department_phone = "312-555-0188".into();
            let text = text_of(&render_pdf(default_template(kind, lang), &d).expect("render"));
            assert!(text.contains("312-555-0188"), "{kind:?} {lang:?}");
            d.law_department_phone = "  ".into();
            let text = text_of(&render_pdf(default_template(kind, lang), &d).expect("render"));
            assert!(!text.contains("312-555"), "{kind:?} {lang:?}");
        }
    }
}

#[test]
fn default_templates_pass_the_check() {
    for kind in LetterKind::ALL {
        for lang in Lang::ALL {
            check_template(default_template(kind, lang))
                .unwrap_or_else(|e| panic!("{kind:?} {lang:?}: {e}"));
        }
    }
}

#[test]
fn data_is_text_never_markup() {
    let hostile = [
        "#panic(\"injected\")",
        "*bold* _emph_ ] [ } { ) (",
        "$x^2$ <label> @ref `raw` \\ // not a comment",
        "= Heading\n- item\n+ item\n/ term: x",
        "#set page(width: 1cm)",
        "#read(\"/etc/passwd\")",
        "\")] #panic(\"quote escape\") [(\"",
    ];
    for (i, evil) in hostile.iter().enumerate() {
        let mut d = data(LetterKind::Declination, Lang::En);
        d.requester = Some(format!("Requester {i} {evil}"));
        d.subject = format!("Subject {evil}");
        d.notes = Some(format!("Notes {evil}"));
        d.provisions[0].citation = format!("Cite {evil}");
        for kind in LetterKind::ALL {
            let pdf = render_pdf(default_template(kind, Lang::En), &d)
                .unwrap_or_else(|e| panic!("{evil:?} in {kind:?}: {e}"));
            let text = text_of(&pdf);
            // Every non-space piece of the hostile text is printed as written.
            for piece in evil.split_whitespace() {
                assert!(
                    text.contains(piece),
                    "{kind:?}: {piece:?} of {evil:?} not printed literally in {text}"
                );
            }
        }
    }
}

#[test]
fn a_broken_template_is_reported_with_line_column_and_message() {
    let template =
        "#let d = sys.inputs\n#set document(title: \"x\")\n\nHello #d.requester\n#nosuch(1)\n";
    let err = check_template(template).expect_err("unknown function");
    let LetterError::Template(problems) = &err else {
        panic!("expected a template error, got {err:?}");
    };
    let p = &problems[0];
    assert_eq!((p.line, p.column), (Some(5), Some(2)), "{err}");
    assert!(p.message.contains("unknown variable: nosuch"), "{err}");
    let shown = err.to_string();
    assert!(shown.contains("line 5, column 2"), "{shown}");

    // Unclosed delimiter: a syntax error, also placed.
    let err = check_template("#set document(title: \"x\")\nText\n#let f(x = 1\n")
        .expect_err("syntax error");
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn check_catches_a_template_that_assumes_optional_data() {
    // Fine with the full sample, fails when there is no requester.
    let template =
        "#set document(title: \"x\")\n#set text(lang: \"en\")\nTo #sys.inputs.requester.len()\n";
    let err = check_template(template).expect_err("requester may be none");
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn pdf_ua_rules_are_enforced() {
    // PDF/UA-1 needs a document title.
    let err = check_template("#set text(lang: \"en\")\nNo title here.\n").expect_err("no title");
    assert!(err.to_string().to_lowercase().contains("title"), "{err}");
}

#[test]
fn templates_cannot_reach_files_packages_or_the_clock() {
    for (template, what) in [
        (
            "#set document(title: \"x\")\n#read(\"/etc/passwd\")",
            "files",
        ),
        (
            "#set document(title: \"x\")\n#image(\"/etc/logo.png\")",
            "files",
        ),
        (
            "#set document(title: \"x\")\n#import \"@preview/example:0.1.0\": *",
            "package",
        ),
        (
            "#set document(title: \"x\")\n#datetime.today().display()",
            "date",
        ),
    ] {
        let err = check_template(template).expect_err(what);
        assert!(err.to_string().contains("line 2"), "{what}: {err}");
    }
}

#[test]
fn runaway_templates_stop_with_an_error() {
    for template in [
        "#set document(title: \"x\")\n#while true {}",
        "#set document(title: \"x\")\n#let f(x) = f(x)\n#f(1)",
        "#set document(title: \"x\")\n#panic(\"stop\")",
    ] {
        assert!(
            matches!(check_template(template), Err(LetterError::Template(_))),
            "{template}"
        );
    }
}

#[test]
fn errors_do_not_quote_the_data() {
    let template = "#set document(title: \"x\")\n#panic(sys.inputs.requester, sys.inputs.notes)\n";
    let mut d = data(LetterKind::Declination, Lang::En);
    d.notes = Some("Private \"quoted\" note about Rosalind".into());
    let err = render_pdf(template, &d).expect_err("panics");
    let shown = err.to_string();
    assert!(shown.contains("line 2"), "{shown}");
    assert!(!shown.contains("Rosalind"), "{shown}");
    assert!(!shown.contains("Quintana"), "{shown}");
    assert!(shown.contains("[letter data]"), "{shown}");
}

#[test]
fn oversized_input_is_refused_by_name() {
    let mut d = data(LetterKind::Declination, Lang::En);
    d.requester = Some("x".repeat(100_000));
    match render_pdf(default_template(LetterKind::Declination, Lang::En), &d) {
        Err(LetterError::DataTooLarge { field, .. }) => assert_eq!(field, "requester"),
        other => panic!("expected DataTooLarge, got {other:?}"),
    }
    let mut d = data(LetterKind::Declination, Lang::En);
    d.provisions[2].excerpt = "é".repeat(20_000);
    match render_pdf(default_template(LetterKind::Declination, Lang::En), &d) {
        Err(LetterError::DataTooLarge { field, .. }) => {
            assert_eq!(field, "provisions[2].excerpt")
        }
        other => panic!("expected DataTooLarge, got {other:?}"),
    }
    let huge_template = "a".repeat(1 << 20);
    assert!(matches!(
        render_pdf(&huge_template, &d),
        Err(LetterError::TemplateTooLarge { .. })
    ));
}

#[test]
fn long_data_within_limits_flows_onto_more_pages() {
    let mut d = data(LetterKind::Referral, Lang::Es);
    let word = "palabra ";
    d.notes = Some(word.repeat(40_000 / word.len()));
    // One unbreakable 1,000-character "word": must wrap, not overflow forever.
    d.requester = Some("X".repeat(1_000));
    d.provisions = (0..200)
        .map(|i| Provision {
            id: format!("p{i}"),
            citation: format!("Cite {i}"),
            excerpt: "Texto de la disposición. ".repeat(20),
        })
        .collect();
    let pdf = render_pdf(default_template(LetterKind::Referral, Lang::Es), &d).expect("render");
    let doc = Document::load_mem(&pdf).expect("parse");
    assert!(doc.get_pages().len() > 5, "{} pages", doc.get_pages().len());
    assert!(text_of(&pdf).contains("Cite 199"));
}

fn claims_pdf_ua(pdf: &[u8]) -> bool {
    // The XMP metadata names the PDF/UA part; Typst writes it uncompressed.
    pdf.windows(b"<pdfuaid:part>1<".len())
        .any(|w| w == b"<pdfuaid:part>1<")
}

#[test]
fn odd_unicode_still_makes_a_letter() {
    let odd = [
        "José Ñúñez-Güell",
        "محمد عبد الله",
        "王小明",
        "👩🏽‍⚖️ 🇲🇽",
        "e\u{301}\u{302}\u{303} a\u{200d}b \u{200b}\u{feff}",
        "nul\u{0}bell\u{7}esc\u{1b}del\u{7f}c1\u{85}",
        "\u{fffe}\u{ffff}\u{10ffff}",
        "\u{202e}reversed\u{202c}",
        "line\nbreak\r\nand\ttab",
    ];
    for name in odd {
        let mut d = data(LetterKind::Declination, Lang::Es);
        d.requester = Some(name.into());
        let pdf = render_pdf(default_template(LetterKind::Declination, Lang::Es), &d)
            .unwrap_or_else(|e| panic!("{name:?}: {e}"));
        assert!(catalog(&pdf).marked, "{name:?}: still tagged");
    }
    // Latin text with accents is fully supported, comes back intact, and the
    // letter is PDF/UA.
    let mut d = data(LetterKind::Declination, Lang::Es);
    d.requester = Some("José Ñúñez-Güell".into());
    let pdf = render_pdf(default_template(LetterKind::Declination, Lang::Es), &d).expect("render");
    assert!(text_of(&pdf).contains("José Ñúñez-Güell"));
    assert!(claims_pdf_ua(&pdf));
}

#[test]
fn added_fonts_cover_other_scripts() {
    // Debian's fonts-dejavu-core has Canadian syllabics (Inuktitut); the
    // bundled fonts do not. (They do have Latin, Greek, Cyrillic, Hebrew and
    // Arabic; not Chinese, Japanese, Korean or emoji.)
    let path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    let Ok(font) = std::fs::read(path) else {
        eprintln!("skipped: {path} not installed (apt-get install fonts-dejavu-core)");
        return;
    };
    let template = default_template(LetterKind::Declination, Lang::Es);
    let mut d = data(LetterKind::Declination, Lang::Es);
    d.requester = Some("ᐊᓂᑕ ᐃᓄᒃ".into());

    let bundled = render_pdf(template, &d).expect("render");
    assert!(
        !claims_pdf_ua(&bundled),
        "a missing glyph drops the PDF/UA claim"
    );

    let letters = Letters::with_fonts(vec![font, b"not a font".to_vec()]);
    assert!(letters.font_count() > Letters::new().font_count());
    let pdf = letters.render_pdf(template, &d).expect("render");
    assert!(claims_pdf_ua(&pdf), "every glyph drawn: PDF/UA");
    assert!(text_of(&pdf).contains("ᐊᓂᑕ ᐃᓄᒃ"));
}

#[test]
fn truncated_and_mangled_templates_never_panic() {
    let d = LetterData::sample(LetterKind::Referral, Lang::En);
    let template = default_template(LetterKind::Referral, Lang::En);
    let cuts: Vec<usize> = template
        .char_indices()
        .map(|(i, _)| i)
        .step_by(97)
        .collect();
    for cut in cuts {
        // Either outcome is fine; a panic would fail the test.
        let _ = render_pdf(&template[..cut], &d);
        let mut swapped = template[cut..].to_owned();
        swapped.push_str(&template[..cut]);
        let _ = render_pdf(&swapped, &d);
    }
}
