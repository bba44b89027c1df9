//! Time to typeset one letter as tagged PDF.
//!
//! `cargo bench -p citygate-letters --bench render`
//!
//! Each iteration gets a different requester, as in service: Typst memoises
//! across compilations, and identical data would be partly served from that
//! cache. The first render (font parsing, cold caches) is timed once and
//! printed before criterion starts.

use std::hint::black_box;
use std::time::Instant;

use citygate_letters::{
    check_template, default_template, render_pdf, Lang, LetterData, LetterKind,
};
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let template = default_template(LetterKind::Declination, Lang::En);
    let mut data = LetterData::sample(LetterKind::Declination, Lang::En);

    let start = Instant::now();
    let first = render_pdf(template, &data).expect("the default template renders");
    eprintln!(
        "first render (fonts parsed, caches cold): {:.1} ms, {} bytes",
        start.elapsed().as_secs_f64() * 1e3,
        first.len()
    );

    let mut n = 0u64;
    c.bench_function("render_pdf declination en (fresh data)", |b| {
        b.iter(|| {
            n += 1;
            data.requester = Some(format!("Requester number {n}"));
            render_pdf(black_box(template), black_box(&data)).expect("renders")
        })
    });

    let referral = default_template(LetterKind::Referral, Lang::Es);
    let mut memo = LetterData::sample(LetterKind::Referral, Lang::Es);
    c.bench_function("render_pdf referral es (fresh data)", |b| {
        b.iter(|| {
            n += 1;
            memo.requester = Some(format!("Solicitante {n}"));
            render_pdf(black_box(referral), black_box(&memo)).expect("renders")
        })
    });

    c.bench_function("check_template declination en", |b| {
        b.iter(|| check_template(black_box(template)).expect("valid"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
