//! Throughput per core, per format, end to end through the format layer (parse, detect, redact,
//! write output and log to memory), on the same generated corpus as the criterion bench:
//! `cargo run --release -p citygate-redaction --example throughput -- [DOCS] [RUNS]`
//! (defaults: 3000 documents, seed 2026, 7 runs; prints the median and the spread; a third
//! argument keeps only the formats whose name starts with it). Runs on a
//! one-thread rayon pool, so the figures are per core whatever the machine has.

use std::io::Cursor;
use std::time::Instant;

use citygate_redaction::corpus::generate;
use citygate_redaction::formats::{json, table, text, MemorySink};
use citygate_redaction::{Policy, Redactor};

fn inputs(docs: usize) -> Vec<(&'static str, Vec<u8>)> {
    let corpus = generate(2026, docs);
    let mut txt = String::new();
    for r in &corpus.texts {
        for f in &r.fields {
            txt.push_str(&f.text);
            txt.push('\n');
        }
    }
    let mut csvs = Vec::new();
    for t in &corpus.tables {
        let mut csv = Vec::new();
        {
            let mut w = csv::Writer::from_writer(&mut csv);
            w.write_record(&t.headers).ok();
            for row in &t.rows {
                w.write_record(row.fields.iter().map(|f| f.text.as_str()))
                    .ok();
            }
        }
        csvs.push(csv);
    }
    let mut jsonl = String::new();
    for r in &corpus.json {
        jsonl.push_str(&r.to_json().to_string());
        jsonl.push('\n');
    }
    let mut out = vec![("text", txt.into_bytes())];
    let mut csvs = csvs.into_iter();
    if let Some(c) = csvs.next() {
        out.push(("csv (booking log)", c));
    }
    if let Some(c) = csvs.next() {
        out.push(("csv (citykey export)", c));
    }
    out.push(("jsonl", jsonl.into_bytes()));
    out
}

/// Redacts `input` once; returns the output and log sizes in bytes.
fn run(redactor: &Redactor, name: &str, input: &[u8]) -> (usize, usize) {
    let mut out = Vec::with_capacity(input.len());
    let mut sink = MemorySink::default();
    let r = if name == "text" {
        text::redact(
            redactor,
            Cursor::new(input),
            &mut out,
            "b.txt",
            &mut sink,
            &|_| {},
        )
    } else if name.starts_with("csv") {
        table::redact(
            redactor,
            Cursor::new(input),
            &mut out,
            b',',
            "b.csv",
            &mut sink,
            &|_| {},
        )
    } else {
        json::redact_lines(
            redactor,
            Cursor::new(input),
            &mut out,
            "b.jsonl",
            &mut sink,
            &|_| {},
        )
    };
    if let Err(e) = r {
        eprintln!("{name}: {e}");
    }
    (out.len(), sink.log.len())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let docs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    // Optional: only the formats whose name starts with this (for profiling one format).
    let only = args.next().unwrap_or_default();
    let redactor = match Policy::shipped("foia-general")
        .ok()
        .and_then(|p| Redactor::new(p).ok())
    {
        Some(r) => r,
        None => {
            eprintln!("cannot build the foia-general redactor");
            return;
        }
    };
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rayon: {e}");
            return;
        }
    };
    println!("corpus: generate(seed 2026, {docs} docs); {runs} runs each; 1 thread");
    pool.install(|| {
        for (name, input) in inputs(docs) {
            if !name.starts_with(only.as_str()) {
                continue;
            }
            let mb = input.len() as f64 / 1e6;
            if runs == 0 {
                println!("{name:<22} {mb:>7.2} MB");
                continue;
            }
            // One warm-up run (page faults, lazy DFA cache).
            std::hint::black_box(run(&redactor, name, &input));
            let mut rates: Vec<f64> = (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(run(&redactor, name, &input));
                    mb / t.elapsed().as_secs_f64()
                })
                .collect();
            rates.sort_by(|a, b| a.total_cmp(b));
            let median = rates[rates.len() / 2];
            let (out, log) = run(&redactor, name, &input);
            println!(
                "{name:<22} {mb:>7.2} MB  median {median:>7.1} MB/s  ({:.1}..{:.1})  output {:.2} MB, log {:.2} MB",
                rates[0],
                rates[rates.len() - 1],
                out as f64 / 1e6,
                log as f64 / 1e6
            );
        }
    });
}
