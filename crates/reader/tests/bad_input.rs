//! Bad input: a clear error naming the file and the problem, never a panic.

mod support;

use std::path::{Path, PathBuf};

use citygate_reader::{classify_text, read_file, read_files, Format, Limits, ReadError};
use support::{corpus_dir, render};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

fn message(err: &ReadError) -> String {
    err.to_string()
}

#[test]
fn empty_and_missing_files_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = write(dir.path(), "empty.pdf", b"");
    let err = read_file(&empty, &Limits::default()).expect_err("empty");
    assert!(matches!(err, ReadError::Empty { .. }), "{err:?}");
    assert!(message(&err).contains("empty.pdf") && message(&err).contains("empty"));

    let blank = write(dir.path(), "blank.txt", b"   \n\n  \x0c \n");
    assert!(matches!(
        read_file(&blank, &Limits::default()),
        Err(ReadError::Empty { .. })
    ));

    let missing = dir.path().join("nowhere.txt");
    let err = read_file(&missing, &Limits::default()).expect_err("missing");
    assert!(matches!(err, ReadError::Io { .. }));
    assert!(message(&err).contains("nowhere.txt"));

    assert!(matches!(read_files(&[]), Err(ReadError::NoFiles)));
}

#[test]
fn unknown_binary_and_other_formats_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes, what) in [
        (
            "warrant.pdf",
            &b"\x00\x01\x02\x03\xff\xfe binary junk"[..],
            "binary",
        ),
        ("warrant.docx", &b"PK\x03\x04\x14\x00\x06\x00"[..], "ZIP"),
        ("photo.jpg", &b"GIF89a\x01\x00\x01\x00"[..], "GIF"),
    ] {
        let path = write(dir.path(), name, bytes);
        let err = read_file(&path, &Limits::default()).expect_err(name);
        assert!(
            matches!(err, ReadError::Unsupported { .. }),
            "{name}: {err:?}"
        );
        assert!(
            message(&err).contains(name) && message(&err).contains(what),
            "{}",
            message(&err)
        );
    }
}

#[test]
fn wrong_extension_is_ignored_content_decides() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(corpus_dir().join("i247a_detainer.txt")).expect("corpus");
    let pdf = dir.path().join("detainer.png");
    render::text_pdf(&text, &pdf);
    let read = read_file(&pdf, &Limits::default()).expect("pdf named .png");
    assert_eq!(read.format, Format::Pdf);
    assert_eq!(
        read.reading.kind.map(|k| k.to_string()).as_deref(),
        Some("immigration_detainer")
    );

    let txt = write(dir.path(), "detainer.pdf", text.as_bytes());
    assert_eq!(
        read_file(&txt, &Limits::default())
            .expect("text named .pdf")
            .format,
        Format::Text
    );
}

#[test]
fn latin1_text_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text =
        "AUTORIZACI\u{d3}N PARA DIVULGAR INFORMACI\u{d3}N\nFirma: Dolores Ib\u{e1}\u{f1}ez\n";
    let latin1: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
    let path = write(dir.path(), "consent.txt", &latin1);
    let read = read_file(&path, &Limits::default()).expect("latin-1");
    assert_eq!(
        read.reading.kind.map(|k| k.to_string()).as_deref(),
        Some("written_consent")
    );
}

#[test]
fn huge_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "big.txt", &vec![b'A'; 4096]);
    let limits = Limits {
        max_file_bytes: 1024,
        ..Limits::default()
    };
    let err = read_file(&path, &limits).expect_err("too large");
    assert!(
        matches!(
            err,
            ReadError::TooLarge {
                size: 4096,
                limit: 1024,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn image_pixel_count_is_checked_from_the_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A PNG header claiming 100000 x 100000 pixels, with no image data at all.
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    png.extend(100_000u32.to_be_bytes());
    png.extend(100_000u32.to_be_bytes());
    png.extend([8, 0, 0, 0, 0, 0, 0, 0, 0]);
    let path = write(dir.path(), "bomb.png", &png);
    let err = read_file(&path, &Limits::default()).expect_err("pixel bomb");
    assert!(
        matches!(
            err,
            ReadError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message(&err).contains("bomb.png"));
}

#[test]
fn damaged_images_and_pdfs_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "cut.jpg",
        &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F'],
    );
    let err = read_file(&path, &Limits::default()).expect_err("truncated jpeg");
    assert!(matches!(err, ReadError::Corrupt { .. }), "{err:?}");

    let path = write(
        dir.path(),
        "cut.pdf",
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog",
    );
    let err = read_file(&path, &Limits::default()).expect_err("truncated pdf");
    assert!(matches!(err, ReadError::Corrupt { .. }), "{err:?}");
    assert!(message(&err).contains("cut.pdf"));
}

#[test]
fn blank_image_has_no_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("white.png");
    image::GrayImage::from_pixel(400, 300, image::Luma([255u8]))
        .save(&path)
        .expect("png");
    let err = read_file(&path, &Limits::default()).expect_err("blank");
    assert!(matches!(err, ReadError::NoText { .. }), "{err:?}");
}

#[test]
fn pdf_page_limit_is_enforced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(corpus_dir().join("detainer_stapled_court_order.txt"))
        .expect("corpus");
    let pdf = dir.path().join("two.pdf");
    render::text_pdf(&text, &pdf);
    let limits = Limits {
        max_pages: 1,
        ..Limits::default()
    };
    let err = read_file(&pdf, &limits).expect_err("too many pages");
    assert!(
        matches!(
            err,
            ReadError::TooManyPages {
                pages: 2,
                limit: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn password_protected_pdf_is_reported_as_encrypted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain.pdf");
    render::text_pdf("IMMIGRATION DETAINER", &plain);
    // Add a standard security handler whose user password is not empty.
    let bytes = std::fs::read(&plain).expect("pdf");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let o = "(".to_string() + &"x".repeat(32) + ")";
    let u = "(".to_string() + &"y".repeat(32) + ")";
    let encrypted = text.replace(
        "/Root 1 0 R",
        &format!("/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O {o} /U {u} /P -4 >> /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]"),
    );
    let path = write(dir.path(), "locked.pdf", encrypted.as_bytes());
    let err = read_file(&path, &Limits::default()).expect_err("encrypted");
    assert!(matches!(err, ReadError::Encrypted { .. }), "{err:?}");
    assert!(message(&err).contains("locked.pdf") && message(&err).contains("encrypted"));
}

#[test]
fn classifier_never_panics_on_arbitrary_text() {
    // A small deterministic fuzz: random mixes of markers, unicode, form feeds.
    const PIECES: &[&str] = &[
        "I-2OO",
        "1-247A",
        "UNITED STATES DISTRICT COURT",
        "Case No. 1:26-mj-0",
        "Magistrate Judge",
        "\u{c}",
        "\n",
        " ",
        "é",
        "§",
        "$",
        "(",
        ")",
        "/s/",
        "Printed name:",
        ",",
        "ORDER",
        "ü\u{301}",
        "\u{202e}",
        "𝔘",
        "-\n",
        "0",
        "l",
        ":",
        "Immigration Judge",
        "SUBPOENA",
        "8 U.S.C. § 1326(",
        "on or before 02/30/2026",
        "DATE:",
        "v.",
        "\t",
        "\r",
    ];
    let mut state: u64 = 42;
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..(state % 40) {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(PIECES[(state >> 33) as usize % PIECES.len()]);
        }
        let reading = classify_text(&text);
        // An uncertain reading never hands the engine a judge's signature.
        if reading.uncertain {
            for doc in reading.documents() {
                assert!(
                    doc.signed_by.is_none()
                        || doc.signed_by.map(|s| s.to_string()).as_deref()
                            == Some("immigration_officer")
                        || doc.signed_by.map(|s| s.to_string()).as_deref()
                            == Some("immigration_judge"),
                    "{text:?}"
                );
            }
        }
    }
}

#[test]
fn external_programs_run_under_a_memory_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("page.png");
    image::GrayImage::from_pixel(800, 600, image::Luma([255u8]))
        .save(&path)
        .expect("png");
    // 8 MiB of address space is too little for tesseract to even load its model:
    // the cap is applied, and the failure is an error naming the file, not a crash.
    let limits = Limits {
        max_tool_memory: 8 * 1024 * 1024,
        ..Limits::default()
    };
    let err = read_file(&path, &limits).expect_err("capped");
    assert!(message(&err).contains("page.png"), "{err}");
}

#[test]
fn unknown_ocr_language_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("page.png");
    image::GrayImage::from_pixel(200, 100, image::Luma([255u8]))
        .save(&path)
        .expect("png");
    let limits = Limits {
        ocr_languages: "xyz".to_string(),
        ..Limits::default()
    };
    let err = read_file(&path, &limits).expect_err("no such language");
    assert!(matches!(err, ReadError::OcrLanguage { .. }), "{err:?}");
    assert!(message(&err).contains("\"xyz\""), "{err}");
}
