//! The same ledger behaviour on PostgreSQL: concurrent durable appends from two ledgers
//! (two "instances") sharing one log, erasure, checkpoints. Skips with a notice when no
//! PostgreSQL is reachable on 127.0.0.1:5432.

mod common;

use std::sync::Arc;

use citygate_ledger::checkpoint::{verify_checkpoint, LogKey, Policy};
use citygate_ledger::{leaf_hash, Ledger, PostgresStore, PublicLeaf};
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
    let open = || {
        Arc::new(
            Ledger::open(Box::new(
                PostgresStore::connect_in_schema(&url, &schema).unwrap(),
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
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
}
