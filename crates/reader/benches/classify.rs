//! Classifying one page of text (target: p50 ≤ 200 µs).
//! `cargo bench -p citygate-reader --bench classify`; criterion's median is in
//! target/criterion/classify/<page>/new/estimates.json.

use criterion::{black_box, criterion_group, criterion_main, Criterion};

const PAGES: &[&str] = &[
    "i247a_detainer",
    "ao442_arrest_warrant_1326",
    "i205_warrant_of_removal",
    "detainer_stapled_court_order",
    "ocr_detainer_phone_photo_text",
];

fn corpus(name: &str) -> String {
    let path = format!(
        "{}/../../testdata/documents/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).expect("corpus page")
}

fn classify(c: &mut Criterion) {
    let mut group = c.benchmark_group("classify");
    for name in PAGES {
        let text = corpus(name);
        group.bench_function(*name, |b| {
            b.iter(|| citygate_reader::classify_text(black_box(&text)))
        });
    }
    group.finish();
}

criterion_group!(benches, classify);
criterion_main!(benches);
