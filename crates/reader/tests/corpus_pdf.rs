//! Every corpus document rendered as a PDF with a text layer and read back
//! through `pdftotext`: 100% required, fields included.

mod support;

use citygate_reader::{read_file, Format, Limits, TextSource};
use support::{corpus_dir, decision_mismatches, field_mismatches, load_expected, render, report};

#[test]
fn pdf_corpus_is_read_right() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = Limits::default();
    let results: Vec<_> = load_expected()
        .into_iter()
        .map(|expected| {
            let text =
                std::fs::read_to_string(corpus_dir().join(&expected.file)).expect("corpus text");
            let pdf = dir.path().join(expected.file.replace(".txt", ".pdf"));
            render::text_pdf(&text, &pdf);
            let mismatches = match read_file(&pdf, &limits) {
                Ok(file) => {
                    let mut m = decision_mismatches(&expected, &file.reading);
                    m.extend(field_mismatches(&expected, &file.reading));
                    if file.format != Format::Pdf
                        || file.pages.iter().any(|p| p.source != TextSource::TextLayer)
                    {
                        m.push("not read from the text layer".to_string());
                    }
                    m
                }
                Err(err) => vec![format!("error: {err}")],
            };
            (expected, mismatches)
        })
        .collect();
    let (right, total) = report("pdf text layer", &results);
    assert_eq!(
        right, total,
        "text-layer PDFs must be read right in every case"
    );
}
