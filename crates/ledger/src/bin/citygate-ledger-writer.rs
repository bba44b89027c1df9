//! Test and benchmark helper: appends from many threads until killed, printing
//! `ack <index> <leaf hash hex>` for every index the ledger acknowledged as durable.
//!
//! Usage: `citygate-ledger-writer (sqlite PATH | postgres URL SCHEMA) THREADS TAG [KEYS]`
//! (`KEYS`: the PostgreSQL ledger's per-entry key file).

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use citygate_ledger::{
    leaf_hash, Event, EventKind, Ledger, LedgerStore, PostgresStore, SqliteStore,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [kind, path, threads, tag] if kind == "sqlite" => SqliteStore::open(path.as_ref())
            .map(|s| (Box::new(s) as Box<dyn LedgerStore>, threads, tag)),
        [kind, url, schema, threads, tag] if kind == "postgres" => {
            PostgresStore::connect_in_schema(url, schema)
                .map(|s| (Box::new(s) as Box<dyn LedgerStore>, threads, tag))
        }
        [kind, url, schema, threads, tag, keys] if kind == "postgres" => {
            PostgresStore::connect_with_keys(url, schema, keys.as_ref())
                .map(|s| (Box::new(s) as Box<dyn LedgerStore>, threads, tag))
        }
        _ => {
            eprintln!(
                "usage: citygate-ledger-writer (sqlite PATH | postgres URL SCHEMA) THREADS TAG [KEYS]"
            );
            return ExitCode::from(2);
        }
    };
    let (store, threads, tag) = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(threads) = threads.parse::<u64>() else {
        eprintln!("THREADS must be a number");
        return ExitCode::from(2);
    };
    let ledger = match Ledger::open(store) {
        Ok(l) => Arc::new(l),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (ledger, out, tag) = (Arc::clone(&ledger), Arc::clone(&out), tag.clone());
            std::thread::spawn(move || {
                for i in 0u64.. {
                    let event = Event {
                        kind: EventKind::RecordAccessed,
                        time: 1_796_000_000 + i,
                        provision: "WCO-2-173-042".into(),
                        refers_to: None,
                        details: Some(serde_json::json!({"writer": format!("{tag}-{t}"), "n": i})),
                    };
                    let Ok(sealed) = event.seal() else { return };
                    let hash = leaf_hash(&sealed.leaf);
                    match ledger.append_sealed(sealed) {
                        Ok(index) => {
                            let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
                            let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
                            if writeln!(out, "ack {index} {hex}")
                                .and_then(|()| out.flush())
                                .is_err()
                            {
                                return;
                            }
                        }
                        Err(e) => {
                            eprintln!("append failed: {e}");
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    ExitCode::SUCCESS
}
