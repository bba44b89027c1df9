//! Memory and proof times of a ledger opened over a stored log (SQLite):
//! `cargo run --release -p citygate-ledger --example stored_proofs -- 1000000`.
//! Prints the time to open it twice (the first open hashes every leaf and stores the block
//! roots, the second starts from them), the resident memory the open tree takes, and median
//! inclusion and consistency proof times at random indexes (proofs may read a block of
//! leaves back).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{median, random_indexes};

use citygate_ledger::{Event, EventKind, Ledger, LedgerStore, SqliteStore};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let size: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.sqlite");
    let mut store = SqliteStore::open(&path)?;
    let mut n = 0;
    while n < size {
        let batch: Result<Vec<_>, _> = (n..size.min(n + 4096))
            .map(|i| {
                Event {
                    kind: EventKind::RecordAccessed,
                    time: 1_796_000_000 + i,
                    provision: "WCO-2-173-042".into(),
                    refers_to: None,
                    details: None,
                }
                .seal()
            })
            .collect();
        let batch = batch?;
        n += batch.len() as u64;
        store.append(&batch)?;
    }
    drop(store);
    let t = Instant::now();
    drop(Ledger::open(Box::new(SqliteStore::open(&path)?))?);
    let first = t.elapsed();
    let before = rss_kib();
    let t = Instant::now();
    let ledger = Ledger::open(Box::new(SqliteStore::open(&path)?))?;
    let opened = t.elapsed();
    let after = rss_kib();
    println!(
        "{size} entries: first open (from the leaves) {:.2} s, next open (from the stored block \
         roots) {:.3} s, resident memory +{:.1} MB ({:.1} bytes per entry)",
        first.as_secs_f64(),
        opened.as_secs_f64(),
        (after.saturating_sub(before)) as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 * 1024.0 / size as f64
    );
    let idx = random_indexes(2000, size);
    for (name, consistency) in [("inclusion", false), ("consistency", true)] {
        let mut samples = Vec::new();
        for chunk in idx.chunks(100) {
            let t = Instant::now();
            for &i in chunk {
                let proof = if consistency {
                    ledger.consistency_proof(i.max(1), size)?
                } else {
                    ledger.inclusion_proof(i, size)?
                };
                std::hint::black_box(proof);
            }
            samples.push(t.elapsed().as_secs_f64() * 1e6 / chunk.len() as f64);
        }
        println!(
            "{name} proof at a random index of {size}: median {:.1} µs",
            median(samples)
        );
    }
    Ok(())
}
