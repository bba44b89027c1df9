//! Every parser of outside input (public leaves, receipts, checkpoints, witness requests)
//! refuses garbage and mutated valid input without panicking.

use citygate_ledger::checkpoint::{verify_checkpoint, LogKey, Policy};
use citygate_ledger::receipt::Receipt;
use citygate_ledger::witness::{add_checkpoint_request, Witness};
use citygate_ledger::{Event, EventKind, MerkleTree, PublicLeaf};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn mutate(&mut self, input: &[u8]) -> Vec<u8> {
        let mut v = input.to_vec();
        for _ in 0..1 + self.next() % 4 {
            let pos = (self.next() as usize) % (v.len() + 1);
            match self.next() % 3 {
                0 if pos < v.len() => v[pos] ^= 1 << (self.next() % 8),
                1 => v.insert(pos, self.next() as u8),
                _ => v.truncate(pos),
            }
        }
        v
    }
}

#[test]
fn mutated_inputs_never_panic_and_mutated_receipts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = LogKey::load_or_create(&dir.path().join("key"), "city.example/ledger").unwrap();
    let policy = Policy {
        log_key: key.verifier_key().to_owned(),
        witnesses: vec![],
        quorum: 0,
    };
    let leaf = Event {
        kind: EventKind::RecordsDisclosed,
        time: 1_796_000_000,
        provision: "WCO-2-173-030".into(),
        refers_to: None,
        details: Some(serde_json::json!({"x": 1})),
    }
    .seal()
    .unwrap()
    .leaf;
    let mut tree = MerkleTree::new();
    for i in 0..9u64 {
        tree.push(citygate_ledger::leaf_hash(if i == 4 {
            &leaf
        } else {
            b"other"
        }));
    }
    let note = key.sign_checkpoint(9, &tree.root()).unwrap();
    let receipt = Receipt {
        leaf: leaf.clone(),
        index: 4,
        proof: tree.inclusion_proof(4, 9).unwrap(),
        checkpoint: note.clone(),
    }
    .encode();
    Receipt::parse(&receipt).unwrap().verify(&policy).unwrap();
    let request = add_checkpoint_request(0, &[], &note);

    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut accepted = 0;
    for round in 0..4000 {
        let m = rng.mutate(&leaf);
        let _ = PublicLeaf::decode(&m);
        let m = rng.mutate(&receipt);
        if let Ok(r) = Receipt::parse(&m) {
            // Mutations can cancel out (the same bit flipped twice); only real changes count.
            if m != receipt && r.verify(&policy).is_ok() {
                eprintln!("accepted: {:?}", String::from_utf8_lossy(&m));
                accepted += 1;
            }
        }
        let m = rng.mutate(&note);
        let _ = verify_checkpoint(&m, &policy);
        let witness_dir = dir.path().join(format!("w{}", round % 7));
        let wk = citygate_ledger::checkpoint::WitnessKey::load_or_create(
            &dir.path().join("wkey"),
            "w.example",
        )
        .unwrap();
        let _ = Witness::new(wk, key.verifier_key(), &witness_dir)
            .add_checkpoint(&rng.mutate(&request), 1);
        let random: Vec<u8> = (0..rng.next() % 300).map(|_| rng.next() as u8).collect();
        let _ = PublicLeaf::decode(&random);
        let _ = Receipt::parse(&random);
        let _ = verify_checkpoint(&random, &policy);
    }
    assert_eq!(accepted, 0, "mutated receipts verified");
}
