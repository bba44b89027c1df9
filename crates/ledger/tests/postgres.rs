//! The same ledger behaviour on PostgreSQL: concurrent durable appends from two ledgers
//! (two "instances") sharing one log, erasure, checkpoints, and erasure by destroying the
//! per-entry key (no readable trace in the cluster's files or the key file). Skips with a notice when no
//! PostgreSQL is reachable on 127.0.0.1:5432.

mod common;

use std::sync::Arc;

use citygate_ledger::checkpoint::{verify_checkpoint, LogKey, Policy};
use citygate_ledger::{
    leaf_hash, KeyStore, Ledger, LedgerStore, PostgresStore, PublicLeaf, StoreError,
};
use common::decision;

#[test]
fn two_instances_share_one_gapless_log() {
    let Some(url) = common::postgres_url() else {
        eprintln!("SKIPPED: PostgreSQL is not reachable on 127.0.0.1:5432 (set DATABASE_URL)");
        return;
    };
    let schema = format!("ledger_test_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
    // The two instances share the ledger's one key file.
    let keys_dir = tempfile::tempdir().unwrap();
    let keys = keys_dir.path().join("ledger.keys");
    let open = || {
        Arc::new(
            Ledger::open(Box::new(
                PostgresStore::connect_with_keys(&url, &schema, &keys).unwrap(),
            ))
            .unwrap(),
        )
    };
    let instances = [open(), open()];
    let mut handles = Vec::new();
    for w in 0..8u64 {
        let ledger = Arc::clone(&instances[(w % 2) as usize]);
        handles.push(std::thread::spawn(move || {
            (0..40)
                .map(|i| {
                    ledger
                        .append(&decision("Pat Example", w * 100 + i))
                        .unwrap()
                })
                .collect::<Vec<_>>()
        }));
    }
    let mut got: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..320).collect::<Vec<_>>(), "gap or duplicate");

    // Each instance catches up with the other's appends and both see the same tree.
    assert_eq!(instances[0].refresh().unwrap(), 320);
    assert_eq!(instances[1].refresh().unwrap(), 320);
    assert_eq!(instances[0].head(), instances[1].head());

    let erased_at = instances[1]
        .erase(17, "retention-7", 1_796_100_000)
        .unwrap();
    assert_eq!(erased_at, 320);
    assert!(instances[0].private_record(17).unwrap().is_none());
    assert!(instances[0].private_record(18).unwrap().is_some());
    let leaf = PublicLeaf::decode(&instances[0].leaves(320, 321).unwrap()[0]).unwrap();
    assert_eq!(leaf.refers_to, Some(17));

    let dir = tempfile::tempdir().unwrap();
    let key = LogKey::load_or_create(&dir.path().join("key"), "city.example/ledger").unwrap();
    instances[0].refresh().unwrap();
    let (size, root) = instances[0].head();
    let note = key.sign_checkpoint(size, &root).unwrap();
    instances[0].put_checkpoint(size, &note).unwrap();
    let stored = instances[1].latest_checkpoint().unwrap().unwrap();
    let policy = Policy {
        log_key: key.verifier_key().to_owned(),
        witnesses: vec![],
        quorum: 0,
    };
    assert_eq!(verify_checkpoint(&stored, &policy).unwrap().size, 321);

    // A fresh instance rebuilds the same tree from the database.
    drop(instances);
    let fresh = open();
    assert_eq!(fresh.head(), (size, root));
    let proof = fresh.inclusion_proof(100, size).unwrap();
    let leaf = leaf_hash(&fresh.leaves(100, 101).unwrap()[0]);
    citygate_ledger::verify_inclusion(&leaf, 100, size, &proof, &root).unwrap();
    // That open stored the block roots; the next one starts from them.
    drop(fresh);
    let blocks: i64 = admin
        .query_one(&format!("SELECT COUNT(*) FROM {schema}.ledger_blocks"), &[])
        .unwrap()
        .get(0);
    assert_eq!(blocks, 10, "321 entries hold 10 blocks of 32");
    let from_roots = open();
    assert_eq!(from_roots.head(), (size, root));
    assert_eq!(from_roots.inclusion_proof(100, size).unwrap(), proof);
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
}

/// Every file under `dir` that `needles` occur in, per needle (files that vanish while
/// being read, e.g. recycled WAL segments, are skipped).
fn find_in_files(dir: &std::path::Path, needles: &[&[u8]]) -> Vec<Vec<std::path::PathBuf>> {
    let finders: Vec<_> = needles.iter().map(memchr::memmem::Finder::new).collect();
    let mut found = vec![Vec::new(); needles.len()];
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                let Ok(bytes) = std::fs::read(&p) else {
                    continue;
                };
                for (f, out) in finders.iter().zip(&mut found) {
                    if f.find(&bytes).is_some() {
                        out.push(p.clone());
                    }
                }
            }
        }
    }
    found
}

/// Issue 4 on PostgreSQL: a DELETE leaves the row in heap pages, TOAST and WAL, so private
/// records are sealed under per-entry keys kept in a key file, and erasure destroys the key.
/// Checks the raw files of the cluster (after a CHECKPOINT) and the key file.
#[test]
fn erasure_on_postgres_destroys_the_only_key_and_leaves_no_readable_trace() {
    let Some(url) = common::postgres_url() else {
        eprintln!("SKIPPED: PostgreSQL is not reachable on 127.0.0.1:5432 (set DATABASE_URL)");
        return;
    };
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let data_dir = match admin.query_one("SHOW data_directory", &[]) {
        Ok(row) => std::path::PathBuf::from(row.get::<_, String>(0)),
        Err(_) => {
            eprintln!("SKIPPED: cannot read data_directory (needs a superuser)");
            return;
        }
    };
    if std::fs::read_dir(data_dir.join("pg_wal")).is_err() {
        eprintln!("SKIPPED: the PostgreSQL data directory is not readable here");
        return;
    }
    let run = format!(
        "{}x{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let schema = format!("ledger_shred_{}", std::process::id());
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys_path = dir.path().join("ledger.keys");
    let open = || {
        Ledger::open(Box::new(
            PostgresStore::connect_with_keys(&url, &schema, &keys_path).unwrap(),
        ))
        .unwrap()
    };
    let ledger = open();
    // Opening binds nothing (a read-only open must not commit the ledger to a key file);
    // the first append with a private record does.
    let bindings = |admin: &mut postgres::Client| -> i64 {
        admin
            .query_one(&format!("SELECT COUNT(*) FROM {schema}.ledger_meta"), &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(bindings(&mut admin), 0);

    // Unique markers: the erased resident's (once small, once large enough for TOAST) and
    // a resident whose record stays.
    let erased = format!("Erased-Resident-{run}");
    let erased_big = format!("Erased-Big-{run}");
    let kept = format!("Kept-Resident-{run}");
    let big_subject = format!("{erased_big} {}", "notes ".repeat(1500));
    let mut target = 0;
    let mut target_big = 0;
    let mut kept_at = 0;
    for i in 0..40u64 {
        let who = match i {
            11 => erased.clone(),
            12 => big_subject.clone(),
            13 => kept.clone(),
            _ => format!("resident {i}"),
        };
        let at = ledger.append(&decision(&who, i)).unwrap();
        match i {
            11 => target = at,
            12 => target_big = at,
            13 => kept_at = at,
            _ => {}
        }
    }
    let before = ledger.head();
    assert_eq!(bindings(&mut admin), 1);

    // What an attacker with the raw files would start from: the stored ciphertext and, while
    // it exists, its key. The key opens it (so the checks below can fail).
    let sealed_of = |admin: &mut postgres::Client, idx: u64| -> Vec<u8> {
        admin
            .query_one(
                &format!("SELECT sealed FROM {schema}.ledger_sealed WHERE idx = $1"),
                &[&(idx as i64)],
            )
            .unwrap()
            .get(0)
    };
    let sealed = sealed_of(&mut admin, target);
    let sealed_big = sealed_of(&mut admin, target_big);
    let keys = KeyStore::open_or_create(&keys_path).unwrap();
    let key = keys.get(target).unwrap().expect("a key before erasure");
    let key_big = keys.get(target_big).unwrap().expect("a key before erasure");
    let opened = keys.open_sealed(target, &sealed).unwrap().unwrap();
    assert!(common::contains(&opened.details, erased.as_bytes()));
    assert!(keys.open_sealed(target_big, &sealed_big).unwrap().is_some());
    let nonce = opened.nonce;
    let key_file = std::fs::read(&keys_path).unwrap();
    let key_at = memchr::memmem::find(&key_file, &key).expect("the key is in the key file");

    let first = ledger.erase(target, "retention-7", 1_796_100_000).unwrap();
    let second = ledger
        .erase(target_big, "retention-7", 1_796_100_001)
        .unwrap();
    assert_eq!((first, second), (40, 41));
    assert!(ledger.private_record(target).unwrap().is_none());
    assert!(ledger.private_record(target_big).unwrap().is_none());
    assert!(
        ledger.erase(target, "retention-7", 1_796_100_002).is_err(),
        "erasing twice"
    );

    // The key is gone from the key file, so the ciphertext (wherever PostgreSQL kept it)
    // no longer opens.
    assert_eq!(keys.get(target).unwrap(), None);
    assert_eq!(keys.open_sealed(target, &sealed).unwrap(), None);
    assert_eq!(keys.open_sealed(target_big, &sealed_big).unwrap(), None);
    let key_file = std::fs::read(&keys_path).unwrap();
    for k in [&key, &key_big] {
        assert!(!common::contains(&key_file, k), "an erased key remains");
    }
    // ...while the other resident's record still reads and matches its public leaf.
    let record = ledger.private_record(kept_at).unwrap().unwrap();
    assert!(common::contains(&record.details, kept.as_bytes()));
    let leaf = ledger.leaves(kept_at, kept_at + 1).unwrap().remove(0);
    citygate_ledger::Opening::new(kept_at, &record)
        .check(&leaf)
        .unwrap();

    // The log still verifies: the old head is a prefix of the new tree, and an erased entry's
    // leaf is still included.
    let (size, root) = ledger.head();
    let proof = ledger.consistency_proof(before.0, size).unwrap();
    citygate_ledger::verify_consistency(before.0, size, &proof, &before.1, &root).unwrap();
    let proof = ledger.inclusion_proof(target, size).unwrap();
    let leaf = leaf_hash(&ledger.leaves(target, target + 1).unwrap()[0]);
    citygate_ledger::verify_inclusion(&leaf, target, size, &proof, &root).unwrap();
    let log_key =
        LogKey::load_or_create(&dir.path().join("log.key"), "city.example/ledger").unwrap();
    let tiles = dir.path().join("public");
    ledger
        .export_tiles(&tiles, size, &log_key.sign_checkpoint(size, &root).unwrap())
        .unwrap();

    // A crash between committing an erasure and overwriting its key is finished by the next
    // open: put the old key back where it was, reopen, and it is destroyed again.
    drop(ledger);
    {
        use std::os::unix::fs::FileExt as _;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&keys_path)
            .unwrap();
        f.write_all_at(&key, key_at as u64).unwrap();
    }
    let ledger = open();
    assert_eq!(
        keys.get(target).unwrap(),
        None,
        "the pending destruction was finished"
    );
    assert!(ledger.private_record(kept_at).unwrap().is_some());

    // A plaintext control row in the same cluster: the file scan below finds what is there.
    let control = format!("Control-Plaintext-{run}");
    admin
        .batch_execute(&format!(
            "CREATE TABLE {schema}.control (t TEXT); INSERT INTO {schema}.control VALUES ('{control}'); CHECKPOINT"
        ))
        .unwrap();
    let needles: [&[u8]; 7] = [
        control.as_bytes(),
        erased.as_bytes(),
        erased_big.as_bytes(),
        kept.as_bytes(),
        &nonce,
        &key,
        &key_big,
    ];
    let found = find_in_files(&data_dir, &needles);
    assert!(
        !found[0].is_empty(),
        "the scan must see the cluster's files (control marker not found)"
    );
    for (what, hits) in [
        "erased details",
        "erased large details",
        "kept details (in clear)",
    ]
    .iter()
    .zip(&found[1..4])
    {
        assert!(hits.is_empty(), "{what} in clear in {hits:?}");
    }
    assert!(found[4].is_empty(), "the erased nonce in {:?}", found[4]);
    assert!(
        found[5].is_empty() && found[6].is_empty(),
        "a per-entry key reached PostgreSQL"
    );
    let local = find_in_files(dir.path(), &needles[1..]);
    for hits in &local {
        assert!(
            hits.is_empty(),
            "found in the key file or the tiles: {hits:?}"
        );
    }

    // The ledger is bound to its key file: an instance without it, or with another, is refused.
    let mut keyless = PostgresStore::connect_in_schema(&url, &schema).unwrap();
    assert!(matches!(
        keyless.private_record(kept_at),
        Err(StoreError::KeysRequired)
    ));
    let sealed_event = decision("Another Resident", 99).seal().unwrap();
    assert!(matches!(
        keyless.append(&[sealed_event]),
        Err(StoreError::KeysRequired)
    ));
    assert!(matches!(
        PostgresStore::connect_with_keys(&url, &schema, &dir.path().join("other.keys")),
        Err(StoreError::KeyStoreMismatch(_))
    ));
    drop(ledger);
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
}

/// Appends send their rows as SQL text: every byte value must come back as written, in the
/// leaf, the record in clear and the sealed record; and a refused append must leave the
/// connection usable (its transaction rolled back, nothing written).
#[test]
fn every_byte_value_round_trips_and_a_refused_append_writes_nothing() {
    let Some(url) = common::postgres_url() else {
        eprintln!("SKIPPED: PostgreSQL is not reachable on 127.0.0.1:5432 (set DATABASE_URL)");
        return;
    };
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let every_byte: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let entry = |n: u8| citygate_ledger::NewEntry {
        leaf: [&[n][..], &every_byte].concat(),
        private: Some(citygate_ledger::PrivateRecord {
            nonce: [n ^ 0x5c; 32],
            details: [&every_byte[..], b"'\\x00\\"].concat(),
        }),
    };
    let dir = tempfile::tempdir().unwrap();
    let keys_path = dir.path().join("ledger.keys");
    for (schema, keyed) in [
        (format!("ledger_bytes_{}", std::process::id()), false),
        (format!("ledger_bytes_keyed_{}", std::process::id()), true),
    ] {
        admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .unwrap();
        let mut store = if keyed {
            PostgresStore::connect_with_keys(&url, &schema, &keys_path).unwrap()
        } else {
            PostgresStore::connect_in_schema(&url, &schema).unwrap()
        };
        assert_eq!(store.append(&[entry(1), entry(2)]).unwrap(), 0);
        assert_eq!(store.append(&[entry(3)]).unwrap(), 2);
        assert_eq!(
            store.leaves(0, 3).unwrap(),
            vec![entry(1).leaf, entry(2).leaf, entry(3).leaf]
        );
        for (i, n) in [(0, 1), (1, 2), (2, 3)] {
            let record = store.private_record(i).unwrap().unwrap();
            assert_eq!(record.nonce, entry(n).private.unwrap().nonce, "entry {i}");
            assert_eq!(
                record.details,
                entry(n).private.unwrap().details,
                "entry {i}"
            );
        }
        if keyed {
            // A second instance without the key file may not add records in clear.
            let mut keyless = PostgresStore::connect_in_schema(&url, &schema).unwrap();
            assert!(matches!(
                keyless.append(&[entry(4)]),
                Err(StoreError::KeysRequired)
            ));
            assert_eq!(keyless.size().unwrap(), 3, "a refused append wrote nothing");
            // ... and released the sequencer lock ("citygate" in ASCII), which a transaction
            // left open would hold from every other instance.
            let mut probe = admin.transaction().unwrap();
            probe
                .batch_execute(
                    "SET LOCAL lock_timeout = '5s'; \
                     SELECT pg_advisory_xact_lock(7163384747083789413)",
                )
                .expect("the sequencer lock is free after a refused append");
            probe.rollback().unwrap();
            // The refusal rolled its transaction back: the same connection appends on.
            let public_only = citygate_ledger::NewEntry {
                leaf: entry(5).leaf,
                private: None,
            };
            assert_eq!(keyless.append(&[public_only]).unwrap(), 3);
            assert_eq!(store.leaves(3, 4).unwrap(), vec![entry(5).leaf]);
        }
        admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .unwrap();
    }
}
