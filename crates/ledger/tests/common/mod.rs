//! Helpers shared by the integration tests.
#![allow(dead_code)]

use citygate_ledger::{Event, EventKind};

/// A decision event with personal details that must never reach public data.
pub fn decision(subject: &str, n: u64) -> Event {
    Event {
        kind: EventKind::DecisionMade,
        time: 1_796_000_000 + n,
        provision: "IL-TRUST-15(a)".into(),
        refers_to: None,
        details: Some(serde_json::json!({
            "subject": subject,
            "request": format!("ICE detainer request #{n}"),
            "answer": "decline",
        })),
    }
}

/// Whether `needle` occurs anywhere in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every regular file under `dir`, recursively, with its bytes.
pub fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out
}

/// The first reachable PostgreSQL URL: `DATABASE_URL`, else the local `test`
/// database as `root` or `postgres`.
pub fn postgres_url() -> Option<String> {
    let candidates = match std::env::var("DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => vec![u],
        _ => vec![
            "postgres://root@127.0.0.1:5432/test".to_owned(),
            "postgres://postgres@127.0.0.1:5432/test".to_owned(),
        ],
    };
    candidates
        .into_iter()
        .find(|u| postgres::Client::connect(u, postgres::NoTls).is_ok())
}

/// `n` pseudo-random indexes below `size`: the same ones every run (xorshift), for benches.
pub fn random_indexes(n: usize, size: u64) -> Vec<u64> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % size
        })
        .collect()
}

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
