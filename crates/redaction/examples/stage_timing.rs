//! Times each detector stage over a text file (diagnosis of throughput, not a benchmark):
//! `cargo run --release -p citygate-redaction --example stage_timing -- FILE [CHUNK_BYTES]`.

use std::time::Instant;

use citygate_redaction::detect::{contextual, cues, names, patterns, status, Detector, FieldHint};
use citygate_redaction::{Policy, Redactor};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: stage_timing FILE [CHUNK_BYTES]");
        return;
    };
    let chunk: usize = args.next().and_then(|c| c.parse().ok()).unwrap_or(200);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            return;
        }
    };
    let mut pieces = Vec::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let mut end = chunk.min(rest.len());
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        pieces.push(&rest[..end]);
        rest = &rest[end..];
    }
    let mb = text.len() as f64 / 1e6;
    let time = |name: &str, f: &dyn Fn(&str)| {
        let t = Instant::now();
        for p in &pieces {
            f(p);
        }
        let s = t.elapsed().as_secs_f64();
        println!("{name:<24} {:>8.1} MB/s", mb / s);
    };
    let cm = cues::CueMatcher::new().expect("cues");
    time("cues", &|p| {
        std::hint::black_box(cm.find(p));
    });
    let r = Redactor::new(Policy::shipped("foia-general").expect("policy")).expect("redactor");
    let chain = r.chain();
    let pd = patterns::PatternDetector::new().expect("patterns");
    let sd = status::StatusDetector::new().expect("status");
    let bd = contextual::BirthplaceDetector::new().expect("birthplace");
    let nd = names::NameDetector::new();
    let dets: Vec<(&str, &dyn Detector)> = vec![
        ("patterns", &pd),
        ("status", &sd),
        ("birthplace", &bd),
        ("plates", &contextual::PlateDetector),
        ("names", &nd),
    ];
    for (name, d) in dets {
        time(name, &|p| {
            let ctx = chain.context_for(p, FieldHint::default());
            let mut out = Vec::new();
            d.detect(p, &ctx, &mut out);
            std::hint::black_box(out);
        });
    }
    time("detect_field", &|p| {
        std::hint::black_box(chain.detect_field(p, FieldHint::default()));
    });
    time("redact_text", &|p| {
        std::hint::black_box(r.redact_text(p));
    });
}
