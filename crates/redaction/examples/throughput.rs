//! Throughput per core, per format, end to end through the format layer (parse, detect, redact,
//! write output and log to memory), on the same generated corpus as the criterion bench:
//! `cargo run --release -p citygate-redaction --example throughput -- [DOCS] [RUNS]`
//! (defaults: 3000 documents, seed 2026, 7 runs; prints the median and the spread; a third
//! argument keeps only the formats whose name starts with it). Runs on a
//! one-thread rayon pool, so the figures are per core whatever the machine has.
//! Besides wall-clock rates it prints rates by the thread's CPU time (Linux
//! `/proc/thread-self/schedstat`), which time waiting for a core on a shared machine does not
//! inflate. With `THROUGHPUT_DUMP=DIR` set, each format's output, log and review list are also written
//! to DIR (to compare two builds byte for byte; the log with its file header line, as a release
//! writes it).

use std::io::Cursor;
use std::time::Instant;

use citygate_redaction::corpus::generate;
use citygate_redaction::formats::{json, table, text, MemorySink};
use citygate_redaction::{Policy, Redactor};

// The allocator the `citygate` binary ships with: the figures are the binary's, not glibc's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// Nanoseconds this thread has run on a CPU (None where the kernel does not say).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Redacts `input` once; returns the output and log sizes in bytes.
fn run(redactor: &Redactor, name: &str, input: &[u8]) -> (usize, usize) {
    let (out, sink) = redact(redactor, name, input);
    (out.len(), sink.log.len())
}

// Never inlined: callgrind measures it by name (`--toggle-collect=throughput::redact`).
#[inline(never)]
fn redact(redactor: &Redactor, name: &str, input: &[u8]) -> (Vec<u8>, MemorySink) {
    // Room for the whole output and log up front (a redacted text is about 8 % longer than its
    // input, a table row a fifth; the log is up to about 2.3 bytes per input byte): grown by
    // doubling, these in-memory vectors cost text 5.7 M instructions a redaction, copies a
    // release writing to buffered files never makes. A change to the benchmark, not the library
    // (eighteenth round in BENCHMARKS.md).
    let mut out = Vec::with_capacity(input.len() + input.len() / 2);
    let mut sink = MemorySink {
        log: Vec::with_capacity(input.len() * 3),
        review: Vec::new(),
    };
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
    (out, sink)
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
    let dump = std::env::var_os("THROUGHPUT_DUMP").map(std::path::PathBuf::from);
    println!("corpus: generate(seed 2026, {docs} docs); {runs} runs each; 1 thread");
    pool.install(|| {
        for (name, input) in inputs(docs) {
            if !name.starts_with(only.as_str()) {
                continue;
            }
            let mb = input.len() as f64 / 1e6;
            if let Some(dir) = &dump {
                let (out, sink) = redact(&redactor, name, &input);
                // The log as a release writes it: the file's header line, then its lines.
                let mut log = Vec::new();
                let format = match name {
                    "text" => "text",
                    "jsonl" => "jsonl",
                    _ => "csv",
                };
                citygate_redaction::log::write_file_header(&mut log, &redactor, name, format)
                    .ok();
                log.extend_from_slice(&sink.log);
                let stem: String = name
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                for (suffix, bytes) in [("out", &out), ("log", &log), ("review", &sink.review)] {
                    if let Err(e) = std::fs::write(dir.join(format!("{stem}.{suffix}")), bytes) {
                        eprintln!("{}: {e}", dir.display());
                    }
                }
            }
            if runs == 0 {
                println!("{name:<22} {mb:>7.2} MB");
                continue;
            }
            // One warm-up run (page faults, lazy DFA cache).
            std::hint::black_box(run(&redactor, name, &input));
            let mut cpu_rates = Vec::new();
            let mut rates: Vec<f64> = (0..runs)
                .map(|_| {
                    let cpu = thread_cpu_ns();
                    let t = Instant::now();
                    std::hint::black_box(run(&redactor, name, &input));
                    let wall = t.elapsed().as_secs_f64();
                    if let (Some(a), Some(b)) = (cpu, thread_cpu_ns()) {
                        cpu_rates.push(mb / ((b.saturating_sub(a)).max(1) as f64 / 1e9));
                    }
                    mb / wall
                })
                .collect();
            rates.sort_by(|a, b| a.total_cmp(b));
            cpu_rates.sort_by(|a, b| a.total_cmp(b));
            let median = rates[rates.len() / 2];
            let cpu = cpu_rates
                .get(cpu_rates.len() / 2)
                .map(|r| format!("  cpu-time median {r:.1} MB/s"))
                .unwrap_or_default();
            let (out, log) = run(&redactor, name, &input);
            println!(
                "{name:<22} {mb:>7.2} MB  median {median:>7.1} MB/s  ({:.1}..{:.1})  output {:.2} MB, log {:.2} MB{cpu}",
                rates[0],
                rates[rates.len() - 1],
                out as f64 / 1e6,
                log as f64 / 1e6
            );
        }
    });
}
