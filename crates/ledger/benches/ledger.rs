//! Ledger benchmarks (run with `cargo bench -p citygate-ledger --bench ledger`):
//! durable appends/s and time to durable index with 64 writers (SQLite, and PostgreSQL when
//! reachable), proof generation and receipt verification at a large tree, full re-verification
//! of an exported log, and public bytes per entry.
//!
//! Sizes: LEDGER_BENCH_PROOF_SIZE (default 10,000,000), LEDGER_BENCH_VERIFY_SIZE (1,000,000),
//! LEDGER_BENCH_SECONDS per append run (5).

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use citygate_ledger::checkpoint::{LogKey, Policy};
use citygate_ledger::receipt::Receipt;
use citygate_ledger::tiles::{self, TilesVerdict};
use citygate_ledger::{
    leaf_hash, Event, EventKind, Ledger, LedgerStore, MerkleTree, PostgresStore, SqliteStore,
};
use common::{median, random_indexes};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn event(n: u64) -> Event {
    Event {
        kind: EventKind::RecordAccessed,
        time: 1_796_000_000 + n,
        provision: "WCO-2-173-042".into(),
        refers_to: None,
        details: Some(serde_json::json!({"officer": format!("badge {n}"), "record": n})),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// 64 threads append for `secs`; returns (appends/s, p50, p99).
fn append_run(ledger: Arc<Ledger>, writers: u64, secs: u64) -> (f64, Duration, Duration) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let ledger = Arc::clone(&ledger);
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let mut n = w << 32;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    ledger.append(&event(n)).expect("append");
                    lat.push(t.elapsed());
                    n += 1;
                }
                lat
            })
        })
        .collect();
    let mut all: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("writer"))
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    (
        all.len() as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
    )
}

fn bench_appends(name: &str, open: &dyn Fn() -> Box<dyn LedgerStore>, secs: u64) {
    let mut rates = Vec::new();
    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    for _ in 0..3 {
        let ledger = Arc::new(Ledger::open(open()).expect("open"));
        let (rate, p50, p99) = append_run(ledger, 64, secs);
        println!("  {name} run: {rate:.0} appends/s, p50 {p50:?}, p99 {p99:?}");
        rates.push(rate);
        p50s.push(p50.as_secs_f64() * 1e3);
        p99s.push(p99.as_secs_f64() * 1e3);
    }
    println!(
        "{name}: durable appends/s with 64 writers (median of 3 runs of {secs} s): {:.0}; p50 {:.2} ms; p99 {:.2} ms",
        median(rates),
        median(p50s),
        median(p99s)
    );
}

fn bench_proofs(size: u64) {
    let t = Instant::now();
    let mut tree = MerkleTree::new();
    for i in 0..size {
        tree.push(leaf_hash(&i.to_be_bytes()));
    }
    println!(
        "tree of {size} leaves built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let root = tree.root();
    let rounds = 20_000;
    let idx = random_indexes(rounds, size);
    let mut samples = Vec::new();
    for chunk in idx.chunks(1000) {
        let t = Instant::now();
        for &i in chunk {
            std::hint::black_box(tree.inclusion_proof(i, size).expect("proof"));
        }
        samples.push(t.elapsed().as_secs_f64() * 1e6 / chunk.len() as f64);
    }
    println!(
        "inclusion proof generation at {size}: median {:.2} µs per proof",
        median(samples)
    );
    let mut samples = Vec::new();
    for chunk in idx.chunks(1000) {
        let t = Instant::now();
        for &i in chunk {
            std::hint::black_box(tree.consistency_proof(i.max(1), size).expect("proof"));
        }
        samples.push(t.elapsed().as_secs_f64() * 1e6 / chunk.len() as f64);
    }
    println!(
        "consistency proof generation at {size}: median {:.2} µs per proof",
        median(samples)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let key = LogKey::load_or_create(&dir.path().join("key"), "bench.citygate.local/ledger")
        .expect("key");
    let note = key.sign_checkpoint(size, &root).expect("sign");
    let policy = Policy {
        log_key: key.verifier_key().to_owned(),
        witnesses: vec![],
        quorum: 0,
    };
    let i = size / 3;
    let receipt = Receipt {
        leaf: i.to_be_bytes().to_vec(),
        index: i,
        proof: tree.inclusion_proof(i, size).expect("proof"),
        checkpoint: note,
    };
    let text = receipt.encode();
    let mut samples = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        for _ in 0..100 {
            let r = Receipt::parse(&text).expect("parse");
            // The bench leaf is not a ledger leaf; verify exactly what a verifier does.
            std::hint::black_box(r.verify(&policy).expect("verify"));
        }
        samples.push(t.elapsed().as_secs_f64() * 1e6 / 100.0);
    }
    println!(
        "receipt parse + verify (Ed25519 + {} proof hashes) at {size}: median {:.1} µs; receipt {} bytes",
        receipt.proof.len(),
        median(samples),
        text.len()
    );
}

fn bench_reverify(size: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::open(&dir.path().join("ledger.sqlite")).expect("store");
    let t = Instant::now();
    let mut n = 0;
    while n < size {
        let batch: Vec<_> = (n..(n + 4096).min(size))
            .map(|i| event(i).seal().expect("seal"))
            .collect();
        n += batch.len() as u64;
        store.append(&batch).expect("append");
    }
    println!(
        "filled a store with {size} entries in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let ledger = Ledger::open(Box::new(store)).expect("open");
    println!(
        "reopened (tree rebuilt from the store) in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let key = LogKey::load_or_create(&dir.path().join("key"), "bench.citygate.local/ledger")
        .expect("key");
    let (s, root) = ledger.head();
    let note = key.sign_checkpoint(s, &root).expect("sign");
    let out = dir.path().join("public");
    let t = Instant::now();
    let summary = ledger.export_tiles(&out, s, &note).expect("export");
    println!("exported in {:.2} s", t.elapsed().as_secs_f64());
    println!(
        "public bytes per entry (tiles of all levels + entry bundles): {:.1}",
        summary.public_bytes as f64 / s as f64
    );
    let policy = Policy {
        log_key: key.verifier_key().to_owned(),
        witnesses: vec![],
        quorum: 0,
    };
    let mut samples = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let verdict = tiles::verify_dir(&out, &policy, |_, _| {}).expect("verify");
        assert!(matches!(verdict, TilesVerdict::Valid { .. }), "{verdict:?}");
        samples.push(t.elapsed().as_secs_f64());
    }
    println!(
        "full re-verification of {size} entries from tiles: median {:.2} s",
        median(samples)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (e.g. `cargo test --benches`) is a smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let secs = env_u64("LEDGER_BENCH_SECONDS", if full { 5 } else { 1 });
    let proof_size = env_u64(
        "LEDGER_BENCH_PROOF_SIZE",
        if full { 10_000_000 } else { 10_000 },
    );
    let verify_size = env_u64(
        "LEDGER_BENCH_VERIFY_SIZE",
        if full { 1_000_000 } else { 10_000 },
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let counter = std::sync::atomic::AtomicU64::new(0);
    let open_sqlite = || -> Box<dyn LedgerStore> {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::new(SqliteStore::open(&dir.path().join(format!("append{n}.sqlite"))).expect("sqlite"))
    };
    bench_appends("sqlite", &open_sqlite, secs);
    if let Some(url) = common::postgres_url() {
        let schema = format!("ledger_bench_{}", std::process::id());
        let open_pg = || -> Box<dyn LedgerStore> {
            Box::new(PostgresStore::connect_in_schema(&url, &schema).expect("postgres"))
        };
        bench_appends("postgres", &open_pg, secs);
        // Private records sealed under per-entry keys in a key file (one more fsync per batch).
        let sealed_schema = format!("ledger_bench_sealed_{}", std::process::id());
        let keys = dir.path().join("ledger.keys");
        let open_sealed = || -> Box<dyn LedgerStore> {
            Box::new(
                PostgresStore::connect_with_keys(&url, &sealed_schema, &keys).expect("postgres"),
            )
        };
        bench_appends("postgres+keys", &open_sealed, secs);
        if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; DROP SCHEMA IF EXISTS {sealed_schema} CASCADE"
            ));
        }
    } else {
        println!("postgres: skipped (not reachable)");
    }
    bench_proofs(proof_size);
    bench_reverify(verify_size);
}
