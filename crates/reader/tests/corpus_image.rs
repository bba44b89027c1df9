//! Every corpus document as a noisy phone photo (rotated, blurred, low
//! contrast, speckled JPEG) read end to end through tesseract; and the two
//! papers that matter most also as a scanned PDF and a PNG.
//!
//! The photo of the detainer and of the magistrate's criminal warrant must be
//! read right; over the whole corpus the accuracy is reported and must stay at
//! or above 90% (OCR of a noisy photo may lose a marker; the reader then says
//! it is unsure rather than guess).

mod support;

use std::path::PathBuf;

use citygate_engine::vocab::{DocumentKind, Signer};
use citygate_reader::{read_file, read_files, Format, Limits, TextSource};
use support::render::{self, Noise};
use support::{corpus_dir, decision_mismatches, expected_for, load_expected, report};

const DPI: u32 = 300;

/// Renders go to a temporary folder, or to `CITYGATE_RENDER_DIR` to look at them.
fn render_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("CITYGATE_RENDER_DIR") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).expect("render dir");
            (None, PathBuf::from(dir))
        }
        None => {
            let tmp = tempfile::tempdir().expect("tempdir");
            let path = tmp.path().to_path_buf();
            (Some(tmp), path)
        }
    }
}

fn photo(file: &str, dir: &std::path::Path, seed: u64) -> (PathBuf, Vec<u8>, u32, u32) {
    let text = std::fs::read_to_string(corpus_dir().join(file)).expect("corpus text");
    let work = dir.join(file.replace(".txt", ""));
    std::fs::create_dir_all(&work).expect("workdir");
    let pdf = work.join("clean.pdf");
    render::text_pdf(&text, &pdf);
    let (jpeg, w, h) = render::noisy_photo(&pdf, &work, DPI, Noise::phone(), seed);
    let path = dir.join(file.replace(".txt", ".jpg"));
    std::fs::write(&path, &jpeg).expect("write jpeg");
    (path, jpeg, w, h)
}

#[test]
fn photo_of_detainer_and_of_magistrate_warrant_are_read_right() {
    let (_keep, dir) = render_dir();
    for (file, kind, signer, criminal) in [
        (
            "i247a_detainer.txt",
            DocumentKind::ImmigrationDetainer,
            Signer::ImmigrationOfficer,
            false,
        ),
        (
            "ao442_arrest_warrant_1326.txt",
            DocumentKind::JudicialWarrant,
            Signer::MagistrateJudge,
            true,
        ),
    ] {
        let (jpg, jpeg, w, h) = photo(file, &dir, 7);
        let read = read_file(&jpg, &Limits::default()).expect("photo read");
        assert_eq!(read.format, Format::Jpeg);
        assert_eq!(read.pages[0].source, TextSource::Ocr);
        let mismatches = decision_mismatches(&expected_for(file), &read.reading);
        assert!(mismatches.is_empty(), "{file} photo: {mismatches:?}");
        let docs = read_files(std::slice::from_ref(&jpg))
            .expect("packet")
            .documents()
            .expect("documents");
        assert_eq!(
            (docs[0].kind, docs[0].signed_by, docs[0].criminal),
            (kind, Some(signer), Some(criminal))
        );

        // The same photo as a scanned PDF (no text layer): rasterised, then OCR.
        let scanned = dir.join(file.replace(".txt", "-scan.pdf"));
        render::scanned_pdf(&[(jpeg, w, h)], &scanned);
        let read = read_file(&scanned, &Limits::default()).expect("scan read");
        assert_eq!(read.format, Format::Pdf);
        assert_eq!(read.pages[0].source, TextSource::Ocr);
        let mismatches = decision_mismatches(&expected_for(file), &read.reading);
        assert!(mismatches.is_empty(), "{file} scanned PDF: {mismatches:?}");

        // And as a PNG with a misleading extension.
        let png = dir.join(file.replace(".txt", "-photo.txt"));
        image::open(&jpg)
            .expect("decode jpeg")
            .save_with_format(&png, image::ImageFormat::Png)
            .expect("png");
        let read = read_file(&png, &Limits::default()).expect("png read");
        assert_eq!(read.format, Format::Png);
        let mismatches = decision_mismatches(&expected_for(file), &read.reading);
        assert!(mismatches.is_empty(), "{file} png: {mismatches:?}");
    }
}

#[test]
fn photo_corpus_accuracy_is_reported() {
    let (_keep, dir) = render_dir();
    let limits = Limits::default();
    let expected = load_expected();
    // Two workers: rendering and OCR are CPU-bound and the machine has two cores.
    let halves = expected.len().div_ceil(2);
    let results: Vec<_> = std::thread::scope(|scope| {
        let workers: Vec<_> = expected
            .chunks(halves)
            .enumerate()
            .map(|(chunk, docs)| {
                let (dir, limits) = (&dir, &limits);
                scope.spawn(move || {
                    docs.iter()
                        .enumerate()
                        .map(|(i, expected)| {
                            let seed = (chunk * halves + i) as u64;
                            let (jpg, ..) = photo(&expected.file, dir, seed);
                            let mismatches = match read_file(&jpg, limits) {
                                Ok(file) => decision_mismatches(expected, &file.reading),
                                Err(err) => vec![format!("error: {err}")],
                            };
                            (expected.clone(), mismatches)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let (right, total) = report("noisy photo (OCR)", &results);
    assert!(
        right * 10 >= total * 9,
        "photo accuracy {right}/{total} is under 90%"
    );
}

#[test]
fn sideways_photo_is_turned_and_read() {
    let (_keep, dir) = render_dir();
    let (jpg, ..) = photo("i247a_detainer.txt", &dir, 11);
    let sideways = dir.join("i247a_detainer-sideways.png");
    image::imageops::rotate90(&image::open(&jpg).expect("decode").to_luma8())
        .save(&sideways)
        .expect("png");
    let read = read_file(&sideways, &Limits::default()).expect("sideways read");
    let mismatches = decision_mismatches(&expected_for("i247a_detainer.txt"), &read.reading);
    assert!(mismatches.is_empty(), "sideways photo: {mismatches:?}");
}
