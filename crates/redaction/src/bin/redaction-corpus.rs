//! `redaction-corpus`: generate the synthetic labelled corpus as files, or evaluate the redactor
//! on it.
//!
//! ```text
//! redaction-corpus evaluate [--seed N] [--docs N] [--policy ID] [--show-errors KIND] [--held-out]
//! redaction-corpus generate --out DIR [--seed N] [--docs N]
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use citygate_redaction::corpus::{generate, generate_held_out, Corpus};
use citygate_redaction::eval::evaluate_showing;
use citygate_redaction::EntityKind;
use citygate_redaction::{Policy, Redactor};

struct Opts {
    command: String,
    seed: u64,
    docs: usize,
    out: Option<PathBuf>,
    policy: String,
    show: Option<String>,
    held_out: bool,
}

fn parse() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let command = args.next().ok_or("usage: redaction-corpus (evaluate|generate) [--seed N] [--docs N] [--out DIR] [--policy ID] [--show-errors KIND] [--held-out]")?;
    let mut o = Opts {
        command,
        seed: 2026,
        docs: 2000,
        out: None,
        policy: "foia-general".into(),
        show: None,
        held_out: false,
    };
    while let Some(flag) = args.next() {
        if flag == "--held-out" {
            o.held_out = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seed" => o.seed = value.parse().map_err(|_| "--seed takes a number")?,
            "--docs" => o.docs = value.parse().map_err(|_| "--docs takes a number")?,
            "--out" => o.out = Some(PathBuf::from(value)),
            "--policy" => o.policy = value,
            "--show-errors" => o.show = Some(value),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let o = parse()?;
    let corpus = if o.held_out {
        generate_held_out(o.seed, o.docs)
    } else {
        generate(o.seed, o.docs)
    };
    match o.command.as_str() {
        "evaluate" => {
            let policy = Policy::shipped(&o.policy).map_err(|e| e.to_string())?;
            let redactor = Redactor::new(policy).map_err(|e| e.to_string())?;
            let start = std::time::Instant::now();
            let show = match &o.show {
                Some(k) => Some(EntityKind::parse(k).ok_or(format!("unknown kind {k}"))?),
                None => None,
            };
            let report = evaluate_showing(&redactor, &corpus, show);
            for e in report.errors.iter().take(40) {
                println!("{e}");
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "seed {} docs {} ({:.1} MB, {:.2} s single-threaded incl. scoring)",
                o.seed,
                o.docs,
                report.bytes as f64 / 1e6,
                secs
            );
            print!("{}", report.table());
            let failures = report.target_failures();
            if failures.is_empty() {
                println!("all targets met");
                Ok(ExitCode::SUCCESS)
            } else {
                for f in &failures {
                    println!("MISSED: {f}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
        "generate" => {
            let out = o.out.ok_or("generate needs --out DIR")?;
            write_corpus(&corpus, &out).map_err(|e| format!("{}: {e}", out.display()))?;
            println!(
                "wrote corpus (seed {}, {} docs) to {}",
                o.seed,
                o.docs,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command {other}; use evaluate or generate")),
    }
}

/// Files: reports.txt (text documents separated by blank lines), booking-log.csv,
/// citykey-export.csv, cases.jsonl, documents.jsonl (each text document as {"id","text"}, for the
/// Presidio comparison) and ground-truth.jsonl (every personal value with its document).
fn write_corpus(corpus: &Corpus, out: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let mut truth = std::io::BufWriter::new(std::fs::File::create(out.join("ground-truth.jsonl"))?);
    let mut reports = std::io::BufWriter::new(std::fs::File::create(out.join("reports.txt"))?);
    let mut docs = std::io::BufWriter::new(std::fs::File::create(out.join("documents.jsonl"))?);
    for (i, rec) in corpus.texts.iter().enumerate() {
        for f in &rec.fields {
            reports.write_all(f.text.as_bytes())?;
            reports.write_all(b"\n")?;
            serde_json::to_writer(&mut docs, &serde_json::json!({"id": i, "text": f.text}))?;
            docs.write_all(b"\n")?;
            for g in &f.spans {
                serde_json::to_writer(
                    &mut truth,
                    &serde_json::json!({"file": "documents.jsonl", "id": i, "kind": g.kind, "value": &f.text[g.start..g.end]}),
                )?;
                truth.write_all(b"\n")?;
            }
        }
    }
    for table in &corpus.tables {
        let name = match table.family {
            citygate_redaction::corpus::Family::BookingLog => "booking-log.csv",
            _ => "citykey-export.csv",
        };
        let mut w = csv::Writer::from_path(out.join(name))?;
        w.write_record(&table.headers)?;
        for (row, rec) in table.rows.iter().enumerate() {
            w.write_record(rec.fields.iter().map(|f| f.text.as_str()))?;
            for f in &rec.fields {
                for g in &f.spans {
                    serde_json::to_writer(
                        &mut truth,
                        &serde_json::json!({"file": name, "id": row, "kind": g.kind, "value": &f.text[g.start..g.end]}),
                    )?;
                    truth.write_all(b"\n")?;
                }
            }
        }
        w.flush()?;
    }
    let mut cases = std::io::BufWriter::new(std::fs::File::create(out.join("cases.jsonl"))?);
    for (i, rec) in corpus.json.iter().enumerate() {
        serde_json::to_writer(&mut cases, &rec.to_json())?;
        cases.write_all(b"\n")?;
        for f in &rec.fields {
            for g in &f.spans {
                serde_json::to_writer(
                    &mut truth,
                    &serde_json::json!({"file": "cases.jsonl", "id": i, "kind": g.kind, "value": &f.text[g.start..g.end]}),
                )?;
                truth.write_all(b"\n")?;
            }
        }
    }
    truth.flush()?;
    reports.flush()?;
    docs.flush()?;
    cases.flush()
}
