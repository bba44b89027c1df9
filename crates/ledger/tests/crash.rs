//! Crash safety: writer processes appending from many threads are SIGKILLed at random
//! moments; after each kill every acknowledged entry must be in the store at its index with
//! its leaf hash, with no gap or duplicate, and the tree must rebuild.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use citygate_ledger::merkle::EMPTY_ROOT;
use citygate_ledger::{leaf_hash, Hash, Ledger, LedgerStore, PostgresStore, SqliteStore};

const WRITER: &str = env!("CARGO_BIN_EXE_citygate-ledger-writer");

fn spawn(args: &[&str]) -> Child {
    Command::new(WRITER)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the writer")
}

/// Waits until the writers acknowledged at least `min_acks` appends in total, lets them run
/// `extra` longer, SIGKILLs them all, and returns every acknowledgement they printed.
fn kill_and_collect(
    mut children: Vec<Child>,
    min_acks: usize,
    extra: Duration,
) -> HashMap<u64, String> {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let readers: Vec<_> = children
        .iter_mut()
        .map(|child| {
            let stdout = child.stdout.take().unwrap();
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            })
        })
        .collect();
    let give_up = Instant::now() + Duration::from_secs(30);
    while lines.lock().unwrap().len() < min_acks && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(extra);
    for child in &mut children {
        child.kill().expect("SIGKILL the writer");
    }
    for mut child in children {
        child.wait().unwrap();
    }
    for r in readers {
        r.join().unwrap();
    }
    let mut acks = HashMap::new();
    for line in lines.lock().unwrap().iter() {
        let mut parts = line.split(' ');
        // A line cut by the kill has no complete hash; only whole lines are acknowledgements.
        if let (Some("ack"), Some(i), Some(h)) = (parts.next(), parts.next(), parts.next()) {
            if h.len() == 64 {
                let prev = acks.insert(i.parse().unwrap(), h.to_owned());
                assert!(prev.is_none(), "index {i} acknowledged twice");
            }
        }
    }
    acks
}

/// Checks the store after a kill and returns its tree head. `before` is the head seen after
/// the previous kill: the new tree must extend it (nothing rewritten by the crash).
fn check(
    mut store: Box<dyn LedgerStore>,
    acks: &HashMap<u64, String>,
    before: (u64, Hash),
) -> (u64, Hash) {
    let size = store.size().unwrap();
    // `leaves` refuses a gap, and the primary key refuses a duplicate.
    let leaves = store.leaves(0, size).unwrap();
    for (index, hash) in acks {
        assert!(
            *index < size,
            "acknowledged entry {index} lost (size {size})"
        );
        let got: String = leaf_hash(&leaves[*index as usize])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(&got, hash, "entry {index} is not what was acknowledged");
    }
    let ledger = Ledger::open(store).unwrap();
    assert_eq!(ledger.size(), size);
    // Every acknowledged entry's private record is readable (for PostgreSQL: its key was
    // durable before the commit) and matches its leaf.
    for index in acks.keys() {
        let record = ledger
            .private_record(*index)
            .unwrap()
            .unwrap_or_else(|| panic!("entry {index} lost its private record"));
        citygate_ledger::Opening::new(*index, &record)
            .check(&leaves[*index as usize])
            .unwrap();
    }
    let proof = ledger.inclusion_proof(size / 2, size).unwrap();
    let leaf = leaf_hash(&ledger.leaves(size / 2, size / 2 + 1).unwrap()[0]);
    let root = ledger.head().1;
    citygate_ledger::verify_inclusion(&leaf, size / 2, size, &proof, &root).unwrap();
    let (old_size, old_root) = before;
    assert!(size > old_size, "nothing was appended since the last kill");
    if old_size > 0 {
        let proof = ledger.consistency_proof(old_size, size).unwrap();
        citygate_ledger::verify_consistency(old_size, size, &proof, &old_root, &root).unwrap();
    }
    (size, root)
}

#[test]
fn sqlite_survives_sigkill_with_64_writers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.sqlite");
    let db = db.to_str().unwrap();
    let mut total_acks = 0;
    let mut head = (0, EMPTY_ROOT);
    for round in 0..10u64 {
        let child = spawn(&["sqlite", db, "64", &format!("r{round}")]);
        let acks = kill_and_collect(vec![child], 200, Duration::from_millis(round * 97));
        total_acks += acks.len();
        head = check(
            Box::new(SqliteStore::open(db.as_ref()).unwrap()),
            &acks,
            head,
        );
    }
    println!(
        "sqlite: {total_acks} acknowledged appends over 10 kills, final size {}",
        head.0
    );
}

#[test]
fn postgres_survives_sigkill_of_two_writer_processes() {
    let Some(url) = common::postgres_url() else {
        eprintln!("SKIPPED: PostgreSQL is not reachable on 127.0.0.1:5432 (set DATABASE_URL)");
        return;
    };
    let schema = format!("crash_test_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
    // Both writer processes share the ledger's one key file. Create the tables and bind the
    // key file once so both writers start on an existing log.
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("ledger.keys");
    let keys_arg = keys.to_str().unwrap();
    drop(PostgresStore::connect_with_keys(&url, &schema, &keys).unwrap());
    let mut head = (0, EMPTY_ROOT);
    for round in 0..6u64 {
        let writers = (0..2)
            .map(|w| {
                spawn(&[
                    "postgres",
                    &url,
                    &schema,
                    "16",
                    &format!("r{round}w{w}"),
                    keys_arg,
                ])
            })
            .collect();
        let acks = kill_and_collect(writers, 200, Duration::from_millis(round * 131));
        head = check(
            Box::new(PostgresStore::connect_with_keys(&url, &schema, &keys).unwrap()),
            &acks,
            head,
        );
    }
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
}
