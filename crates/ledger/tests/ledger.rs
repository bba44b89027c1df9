//! The ledger end to end on SQLite: durable concurrent appends, erasure, checkpoints parsed by
//! the maintained crates, receipts, tiles export and re-verification, witnesses.

mod common;

use std::sync::Arc;

use citygate_ledger::checkpoint::{
    attach_cosignatures, verify_checkpoint, LogKey, Policy, WitnessKey,
};
use citygate_ledger::checkpoint::{CheckpointError, CheckpointPolicy, VerifiedCheckpoint};
use citygate_ledger::merkle::leaf_hash;
use citygate_ledger::policy::TrustPolicy;
use citygate_ledger::receipt::Receipt;
use citygate_ledger::tiles::{self, TilesVerdict};
use citygate_ledger::witness::{add_checkpoint_request, Witness, WitnessError};
use citygate_ledger::{verify_consistency, verify_inclusion, Ledger, PublicLeaf, SqliteStore};
use common::{all_files, contains, decision};

fn open(dir: &std::path::Path) -> Ledger {
    Ledger::open(Box::new(
        SqliteStore::open(&dir.join("ledger.sqlite")).unwrap(),
    ))
    .unwrap()
}

fn policy(key: &LogKey) -> Policy {
    Policy {
        log_key: key.verifier_key().to_owned(),
        witnesses: vec![],
        quorum: 0,
    }
}

#[test]
fn concurrent_writers_get_distinct_durable_indexes_that_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(open(dir.path()));
    let mut handles = Vec::new();
    for w in 0..16 {
        let ledger = Arc::clone(&ledger);
        handles.push(std::thread::spawn(move || {
            (0..50)
                .map(|i| ledger.append(&decision("x", w * 100 + i)).unwrap())
                .collect::<Vec<_>>()
        }));
    }
    let mut got: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..800).collect::<Vec<_>>());
    let root = ledger.head().1;
    drop(ledger);
    let reopened = open(dir.path());
    assert_eq!(reopened.head(), (800, root));
    // The tree keeps only whole 32-entry blocks' roots in memory: proofs inside a block
    // read its leaves back from the store, and must verify against the roots.
    let leaves = reopened.leaves(0, 800).unwrap();
    for index in (0..800).step_by(37).chain([31, 32, 255, 256, 511, 799]) {
        let proof = reopened.inclusion_proof(index, 800).unwrap();
        let leaf = leaf_hash(&leaves[index as usize]);
        verify_inclusion(&leaf, index, 800, &proof, &root).unwrap();
    }
    for old in [1, 200, 256, 257, 600, 799] {
        let proof = reopened.consistency_proof(old, 800).unwrap();
        let old_root = reopened.root_at(old).unwrap();
        verify_consistency(old, 800, &proof, &old_root, &root).unwrap();
    }
}

/// Opening stores the roots of complete blocks, and the next open starts from them rather
/// than hashing every leaf: the same tree and proofs, a gap in the stored roots filled from
/// the leaves, and stored roots that are not this ledger's refused.
#[test]
fn stored_block_roots_give_the_same_tree_and_a_foreign_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.sqlite");
    let rows = || -> i64 {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.query_row("SELECT COUNT(*) FROM ledger_blocks", [], |r| r.get(0))
            .unwrap()
    };
    let ledger = open(dir.path());
    for i in 0..810 {
        ledger.append(&decision("x", i)).unwrap();
    }
    let head = ledger.head();
    let proof = ledger.inclusion_proof(100, 810).unwrap();
    drop(ledger);
    // 810 entries: 25 complete blocks of 32, stored at the first open that sees them.
    assert_eq!(open(dir.path()).head(), head);
    assert_eq!(rows(), 25);
    let from_roots = open(dir.path());
    assert_eq!(from_roots.head(), head);
    assert_eq!(from_roots.inclusion_proof(100, 810).unwrap(), proof);
    for old in [1, 31, 32, 33, 500, 800, 809] {
        let p = from_roots.consistency_proof(old, 810).unwrap();
        let old_root = from_roots.root_at(old).unwrap();
        verify_consistency(old, 810, &p, &old_root, &head.1).unwrap();
    }
    drop(from_roots);

    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("DELETE FROM ledger_blocks WHERE block = 10", [])
        .unwrap();
    assert_eq!(
        open(dir.path()).head(),
        head,
        "a gap is filled from the leaves"
    );
    assert_eq!(rows(), 25);

    conn.execute(
        "UPDATE ledger_blocks SET root = zeroblob(32) WHERE block = 24",
        [],
    )
    .unwrap();
    let refused = Ledger::open(Box::new(SqliteStore::open(&db).unwrap()));
    let message = refused
        .err()
        .expect("a foreign block root is refused")
        .to_string();
    assert!(message.contains("block 24"), "{message}");
}

/// Submitted entries (the service's path: no thread waits) and appended ones share the
/// sequence: every callback gets a distinct durable index, and the entry is there on reopening.
#[test]
fn submitted_entries_are_answered_through_their_callbacks_with_durable_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..200 {
        let entry = decision("x", i).seal().unwrap();
        let tx = tx.clone();
        let done: citygate_ledger::AppendDone = Box::new(move |r| tx.send(r).unwrap());
        if let Err(refused) = ledger.try_submit(entry, done) {
            match refused {
                // The queue was full: the same entry, submitted by a thread that may wait.
                citygate_ledger::SubmitRefused::Full(entry, done) => {
                    ledger.submit(entry, done).unwrap()
                }
                citygate_ledger::SubmitRefused::Closed => panic!("the ledger closed"),
            }
        }
        if i % 50 == 0 {
            ledger.append(&decision("y", i)).unwrap();
        }
    }
    drop(tx);
    let mut got: Vec<u64> = rx.iter().map(|r| r.unwrap()).collect();
    assert_eq!(got.len(), 200);
    got.sort_unstable();
    got.dedup();
    assert_eq!(got.len(), 200, "distinct indexes");
    assert!(got.iter().all(|&i| i < 204));
    let root = ledger.head().1;
    drop(ledger);
    assert_eq!(open(dir.path()).head(), (204, root));
}

#[test]
fn erasure_keeps_the_log_verifiable_and_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let key = LogKey::load_or_create(&dir.path().join("key"), "city.example/ledger").unwrap();
    let secret = "Maria Quintero-Example, born 1979-04-02";
    let mut target = 0;
    for i in 0..300 {
        let who = if i == 137 {
            secret.to_owned()
        } else {
            format!("resident {i}")
        };
        let idx = ledger.append(&decision(&who, i)).unwrap();
        if i == 137 {
            target = idx;
        }
    }
    let before = ledger.head();
    let cp_before = key.sign_checkpoint(before.0, &before.1).unwrap();
    let record = ledger.private_record(target).unwrap().unwrap();
    let nonce = record.nonce;
    assert!(contains(&record.details, secret.as_bytes()));

    let erasure = ledger
        .erase(target, "retention-schedule-7", 1_796_100_000)
        .unwrap();
    assert_eq!(erasure, 300);
    assert!(ledger.private_record(target).unwrap().is_none());
    assert!(
        ledger
            .erase(target, "retention-schedule-7", 1_796_100_000)
            .is_err(),
        "erasing twice"
    );
    let leaf = PublicLeaf::decode(&ledger.leaves(erasure, erasure + 1).unwrap()[0]).unwrap();
    assert_eq!(leaf.refers_to, Some(target));

    // The log still verifies: the old checkpoint is a prefix of the new tree.
    let (size, root) = ledger.head();
    let proof = ledger.consistency_proof(before.0, size).unwrap();
    citygate_ledger::verify_consistency(before.0, size, &proof, &before.1, &root).unwrap();
    let old = verify_checkpoint(&cp_before, &policy(&key)).unwrap();
    assert_eq!(old.root, before.1);

    let out = dir.path().join("public");
    let note = key.sign_checkpoint(size, &root).unwrap();
    ledger.export_tiles(&out, size, &note).unwrap();
    assert!(matches!(
        tiles::verify_dir(&out, &policy(&key), |_, _| {}).unwrap(),
        TilesVerdict::Valid { size: 301, .. }
    ));
    drop(ledger);

    // No trace of the details or the nonce in any file of the store or the export.
    let surname = b"Quintero-Example";
    let files = all_files(dir.path());
    assert!(files.iter().any(|(p, _)| p.ends_with("ledger.sqlite")));
    for (path, bytes) in &files {
        assert!(
            !contains(bytes, surname),
            "details remain in {}",
            path.display()
        );
        assert!(
            !contains(bytes, &nonce),
            "nonce remains in {}",
            path.display()
        );
    }
    // ...while the other residents' details are still there (the check can fail).
    assert!(files.iter().any(|(_, b)| contains(b, b"resident 138")));
}

#[test]
fn checkpoints_and_receipts_parse_with_the_maintained_crates() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let key_path = dir.path().join("key");
    let key = LogKey::load_or_create(&key_path, "city.example/ledger").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Loading again gives the same key.
    assert_eq!(
        LogKey::load_or_create(&key_path, "ignored")
            .unwrap()
            .verifier_key(),
        key.verifier_key()
    );
    for i in 0..1000 {
        ledger.append(&decision("someone", i)).unwrap();
    }
    let (size, root) = ledger.head();
    let note = key.sign_checkpoint(size, &root).unwrap();

    // signed_note parses and verifies it with the log's verifier key...
    let parsed = signed_note::Note::from_bytes(&note).unwrap();
    let verifier = signed_note::StandardVerifier::new(key.verifier_key()).unwrap();
    let (ok, _) = parsed
        .verify(&signed_note::VerifierList::new(vec![Box::new(verifier)]))
        .unwrap();
    assert_eq!(ok.len(), 1);
    // ...and tlog_tiles parses the body as a C2SP checkpoint.
    let cp = tlog_tiles::Checkpoint::from_bytes(parsed.text()).unwrap();
    assert_eq!(
        (cp.origin(), cp.size(), cp.hash().0),
        ("city.example/ledger", size, root)
    );

    // A receipt for entry 421: its proof passes tlog_tiles' own check, and ours.
    let leaf = ledger.leaves(421, 422).unwrap().remove(0);
    let receipt = Receipt {
        leaf: leaf.clone(),
        index: 421,
        proof: ledger.inclusion_proof(421, size).unwrap(),
        checkpoint: note.clone(),
    };
    let text = receipt.encode();
    assert!(text.starts_with(b"c2sp.org/tlog-proof@v1\nextra "));
    let back = Receipt::parse(&text).unwrap();
    assert_eq!(back, receipt);
    back.verify(&policy(&key)).unwrap();
    let hashes: Vec<_> = back.proof.iter().map(|h| tlog_tiles::Hash(*h)).collect();
    tlog_tiles::check_record(
        &hashes,
        size,
        *cp.hash(),
        421,
        tlog_tiles::Hash(leaf_hash(&leaf)),
    )
    .unwrap();
    signed_note::Note::from_bytes(&back.checkpoint).unwrap();

    // A receipt for another leaf, index or log key is refused.
    let mut forged = receipt.clone();
    forged.leaf = ledger.leaves(422, 423).unwrap().remove(0);
    assert!(forged.verify(&policy(&key)).is_err());
    let mut forged = receipt.clone();
    forged.index = 420;
    assert!(forged.verify(&policy(&key)).is_err());
    let other = LogKey::load_or_create(&dir.path().join("other"), "city.example/ledger").unwrap();
    assert!(receipt.verify(&policy(&other)).is_err());
    let mut tampered = note.clone();
    let pos = tampered.iter().position(|b| *b == b'\n').unwrap() + 1;
    tampered[pos] = if tampered[pos] == b'9' { b'8' } else { b'9' };
    assert!(verify_checkpoint(&tampered, &policy(&key)).is_err());
}

#[test]
fn known_answer_checkpoint_from_the_reference_verifies() {
    // Produced with tlog_tiles + signed_note in the research ledger (§2.2).
    let note = "audit.city.example/log\n3000\nPrpFAL+yfKlcb33Ay08i3hhO2OJIxsATdBjdT4shcJ0=\n\n\u{2014} audit.city.example/log BDzhLwW3XkbAlLDYT4bvUvHYHVcQcId5Sb/mU3LTgCtjvbfFjWKsUzosQKiYXPbrH/6hKjYuwIFO6bpF/vrGpxheiAE=\n";
    let policy = Policy {
        log_key: "audit.city.example/log+043ce12f+AYwz80s96HG2CliLFD/OtLsoyb4G3z2EcZp81qXCFx/F"
            .into(),
        witnesses: vec![],
        quorum: 0,
    };
    let cp = verify_checkpoint(note.as_bytes(), &policy).unwrap();
    assert_eq!(cp.size, 3000);
    let altered = note.replace("3000", "3001");
    assert!(verify_checkpoint(altered.as_bytes(), &policy).is_err());
    // The signed-note spec's example key ID: SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)[:4].
    assert!(signed_note::StandardVerifier::new(
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    )
    .is_ok());
    assert!(signed_note::StandardVerifier::new(
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    )
    .is_err());
}

#[test]
fn tiles_reverification_names_the_first_bad_entry() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let key = LogKey::load_or_create(&dir.path().join("key"), "city.example/ledger").unwrap();
    for i in 0..700 {
        ledger.append(&decision("someone", i)).unwrap();
    }
    let (size, root) = ledger.head();
    let note = key.sign_checkpoint(size, &root).unwrap();
    let out = dir.path().join("public");
    let summary = ledger.export_tiles(&out, size, &note).unwrap();
    assert!(
        summary.public_bytes / size <= 200,
        "{} bytes per entry",
        summary.public_bytes / size
    );
    for p in [
        "checkpoint",
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/188",
        "tile/1/000.p/2",
        "tile/entries/000",
        "tile/entries/002.p/188",
    ] {
        assert!(out.join(p).is_file(), "{p}");
    }
    assert_eq!(
        tiles::verify_dir(&out, &policy(&key), |_, _| {}).unwrap(),
        TilesVerdict::Valid { size, root }
    );

    // A later export adds only what is new and the older tree can still be read back.
    for i in 700..1000 {
        ledger.append(&decision("someone", i)).unwrap();
    }
    let (size2, root2) = ledger.head();
    let note2 = key.sign_checkpoint(size2, &root2).unwrap();
    ledger.export_tiles(&out, size2, &note2).unwrap();
    assert_eq!(
        tiles::verify_dir(&out, &policy(&key), |_, _| {}).unwrap(),
        TilesVerdict::Valid {
            size: size2,
            root: root2
        }
    );
    assert_eq!(tiles::read_tree(&out, size).unwrap().root(), root);

    // Change one byte of entry 300's commitment in its bundle.
    let bundle = out.join("tile/entries/001");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let mut offset = 0;
    for _ in 0..(300 - 256) {
        offset += 2 + u16::from_be_bytes([bytes[offset], bytes[offset + 1]]) as usize;
    }
    let len = u16::from_be_bytes([bytes[offset], bytes[offset + 1]]) as usize;
    bytes[offset + 2 + len - 1] ^= 1;
    std::fs::write(&bundle, &bytes).unwrap();
    match tiles::verify_dir(&out, &policy(&key), |_, _| {}).unwrap() {
        TilesVerdict::BadEntry { index, .. } => assert_eq!(index, 300),
        other => panic!("tampering not found: {other:?}"),
    }
}

#[test]
fn witnesses_cosign_consistent_checkpoints_and_verifiers_count_k_of_n() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let key = LogKey::load_or_create(&dir.path().join("key"), "city.example/ledger").unwrap();
    let witnesses: Vec<Witness> = (0..3)
        .map(|i| {
            let wk = WitnessKey::load_or_create(
                &dir.path().join(format!("w{i}.key")),
                &format!("witness{i}.example"),
            )
            .unwrap();
            Witness::new(wk, key.verifier_key(), &dir.path().join(format!("w{i}")))
        })
        .collect();
    let witness_keys: Vec<String> = (0..3)
        .map(|i| {
            WitnessKey::load_or_create(&dir.path().join(format!("w{i}.key")), "x")
                .unwrap()
                .verifier_key()
        })
        .collect();

    for i in 0..10 {
        ledger.append(&decision("a", i)).unwrap();
    }
    let (s1, r1) = ledger.head();
    let cp1 = key.sign_checkpoint(s1, &r1).unwrap();
    let mut cosigned = cp1.clone();
    for w in &witnesses[..2] {
        let line = w
            .add_checkpoint(&add_checkpoint_request(0, &[], &cp1), 1_796_000_000)
            .unwrap();
        cosigned = attach_cosignatures(&cosigned, &line).unwrap();
    }
    let policy_k = |k| Policy {
        log_key: key.verifier_key().to_owned(),
        witnesses: witness_keys.clone(),
        quorum: k,
    };
    assert_eq!(
        verify_checkpoint(&cosigned, &policy_k(2))
            .unwrap()
            .witnesses
            .len(),
        2
    );
    assert!(matches!(
        verify_checkpoint(&cosigned, &policy_k(3)),
        Err(citygate_ledger::checkpoint::CheckpointError::Quorum {
            found: 2,
            required: 3
        })
    ));
    // The same decisions from a C2SP tlog-policy file.
    let policy_text = |group: &str| {
        format!(
            "# city auditors\nlog {} https://audit.example/\nwitness IG {}\nwitness Clerk {}\nwitness Uni {}\n{group}\n",
            key.verifier_key(),
            witness_keys[0],
            witness_keys[1],
            witness_keys[2]
        )
    };
    let two_of_three =
        TrustPolicy::parse(&policy_text("group city 2 IG Clerk Uni\nquorum city")).unwrap();
    receipt_free_check(&two_of_three, &cosigned).unwrap();
    let all = TrustPolicy::parse(&policy_text("group city all IG Clerk Uni\nquorum city")).unwrap();
    assert!(receipt_free_check(&all, &cosigned).is_err());
    let nested = TrustPolicy::parse(&policy_text(
        "group inside any IG Clerk\ngroup both all inside Uni\nquorum both",
    ))
    .unwrap();
    assert!(receipt_free_check(&nested, &cosigned).is_err());
    let none = TrustPolicy::parse(&policy_text("quorum none")).unwrap();
    receipt_free_check(&none, &cp1).unwrap();
    let err = TrustPolicy::parse(&policy_text("group city 4 IG Clerk Uni\nquorum city"))
        .err()
        .unwrap();
    assert_eq!(err.line, 6);
    assert!(TrustPolicy::parse(&policy_text("group city 2 IG Nobody\nquorum city")).is_err());
    assert!(
        TrustPolicy::parse(&policy_text("")).is_err(),
        "a policy without a quorum line"
    );

    // signed_note parses cosigned checkpoints (it ignores the unknown cosigner keys).
    signed_note::Note::from_bytes(&cosigned).unwrap();

    for i in 10..25 {
        ledger.append(&decision("b", i)).unwrap();
    }
    let (s2, r2) = ledger.head();
    let cp2 = key.sign_checkpoint(s2, &r2).unwrap();
    let proof = ledger.consistency_proof(s1, s2).unwrap();
    // Wrong old size: the witness says which size it holds.
    match witnesses[0].add_checkpoint(&add_checkpoint_request(0, &[], &cp2), 1_796_000_100) {
        Err(WitnessError::Conflict { stored, .. }) => assert_eq!(stored, s1),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // A bad proof is refused, a good one cosigned.
    let mut bad = proof.clone();
    bad[0][0] ^= 1;
    assert!(matches!(
        witnesses[0].add_checkpoint(&add_checkpoint_request(s1, &bad, &cp2), 1_796_000_100),
        Err(WitnessError::Inconsistent(_))
    ));
    witnesses[0]
        .add_checkpoint(&add_checkpoint_request(s1, &proof, &cp2), 1_796_000_100)
        .unwrap();
    // A forked log (same size, different history) is refused by a witness that saw the first.
    let forged = key.sign_checkpoint(s2, &leaf_hash(b"fork")).unwrap();
    assert!(witnesses[0]
        .add_checkpoint(&add_checkpoint_request(s2, &[], &forged), 1_796_000_200)
        .is_err());
    // A checkpoint signed by another key is refused.
    let other = LogKey::load_or_create(&dir.path().join("other"), "city.example/ledger").unwrap();
    let foreign = other.sign_checkpoint(s2, &r2).unwrap();
    assert!(matches!(
        witnesses[2].add_checkpoint(&add_checkpoint_request(0, &[], &foreign), 1),
        Err(WitnessError::Checkpoint(_))
    ));
}

#[test]
fn an_erasure_during_another_read_reports_the_pending_scrub_and_the_next_open_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.sqlite");
    let ledger = open(dir.path());
    for i in 0..20 {
        let who = if i == 5 {
            "Quentin Scrubtest".to_owned()
        } else {
            format!("resident {i}")
        };
        ledger.append(&decision(&who, i)).unwrap();
    }
    // Another process holding a read snapshot keeps old pages alive in the WAL.
    let reader = rusqlite::Connection::open(&db).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let n: i64 = reader
        .query_row("SELECT COUNT(*) FROM ledger_leaves", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 20);
    match ledger.erase(5, "retention-7", 1_796_100_000) {
        Err(citygate_ledger::LedgerError::Store(
            citygate_ledger::StoreError::ScrubIncomplete { erasure_index },
        )) => assert_eq!(erasure_index, 20),
        other => panic!("expected a pending scrub, got {other:?}"),
    }
    // The erasure is committed and in the tree.
    assert_eq!(ledger.size(), 21);
    assert!(ledger.private_record(5).unwrap().is_none());
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    drop(ledger);
    let reopened = open(dir.path());
    assert_eq!(reopened.size(), 21);
    drop(reopened);
    for (path, bytes) in all_files(dir.path()) {
        assert!(
            !contains(&bytes, b"Scrubtest"),
            "details remain in {}",
            path.display()
        );
    }
}

fn receipt_free_check(
    policy: &dyn CheckpointPolicy,
    note: &[u8],
) -> Result<VerifiedCheckpoint, CheckpointError> {
    policy.check(note)
}
