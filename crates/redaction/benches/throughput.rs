//! Throughput per core of the library on the synthetic corpus: text, CSV and JSON Lines, end to
//! end through the format layer (parse, detect, redact, write output and log to memory).
//! Run single-threaded for per-core figures: `RAYON_NUM_THREADS=1 cargo bench -p citygate-redaction`.

use std::io::Cursor;

use citygate_redaction::corpus::generate;
use citygate_redaction::formats::{json, table, text, MemorySink};
use citygate_redaction::{Policy, Redactor};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

// The allocator the `citygate` binary ships with: the figures are the binary's, not glibc's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn inputs() -> (String, String, String) {
    let corpus = generate(2026, 3000);
    let mut txt = String::new();
    for r in &corpus.texts {
        for f in &r.fields {
            txt.push_str(&f.text);
            txt.push('\n');
        }
    }
    let mut csv = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut csv);
        let t = &corpus.tables[0];
        w.write_record(&t.headers).ok();
        for row in &t.rows {
            w.write_record(row.fields.iter().map(|f| f.text.as_str()))
                .ok();
        }
    }
    let mut jsonl = String::new();
    for r in &corpus.json {
        jsonl.push_str(&r.to_json().to_string());
        jsonl.push('\n');
    }
    (txt, String::from_utf8_lossy(&csv).into_owned(), jsonl)
}

fn bench(c: &mut Criterion) {
    let redactor = match Policy::shipped("foia-general")
        .ok()
        .and_then(|p| Redactor::new(p).ok())
    {
        Some(r) => r,
        None => return,
    };
    let (txt, csv, jsonl) = inputs();
    let mut group = c.benchmark_group("redact");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(txt.len() as u64));
    group.bench_function("text", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(txt.len());
            let mut sink = MemorySink::default();
            text::redact(
                &redactor,
                Cursor::new(txt.as_bytes()),
                &mut out,
                "bench.txt",
                &mut sink,
                &|_| {},
            )
            .ok();
            out
        })
    });
    group.throughput(Throughput::Bytes(csv.len() as u64));
    group.bench_function("csv", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(csv.len());
            let mut sink = MemorySink::default();
            table::redact(
                &redactor,
                Cursor::new(csv.as_bytes()),
                &mut out,
                b',',
                "bench.csv",
                &mut sink,
                &|_| {},
            )
            .ok();
            out
        })
    });
    group.throughput(Throughput::Bytes(jsonl.len() as u64));
    group.bench_function("jsonl", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(jsonl.len());
            let mut sink = MemorySink::default();
            json::redact_lines(
                &redactor,
                Cursor::new(jsonl.as_bytes()),
                &mut out,
                "bench.jsonl",
                &mut sink,
                &|_| {},
            )
            .ok();
            out
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
