//! citygate-ledger: the tamper-evident ledger.
//!
//! An append-only log whose tree is the RFC 6962/9162 Merkle tree, published as C2SP
//! checkpoints (signed notes, Ed25519), tlog-tiles and tlog-proof receipts, and cosigned by
//! witnesses. Public leaves hold no personal data: an event code, the hour, the deciding
//! provision and a salted commitment; the details live in a private store and can be erased.
//!
//! It does not decide anything and does not know HTTP or terminals; the CLI wires it up.

#![warn(missing_docs)]

pub mod checkpoint;
mod compact;
pub mod entry;
pub mod ledger;
pub mod merkle;
pub mod policy;
pub mod publish;
pub mod receipt;
pub mod store;
pub mod tiles;
pub mod verify;
pub mod witness;

pub use entry::{Event, EventKind, NewEntry, Opening, PrivateRecord, PublicLeaf};
pub use ledger::{AppendDone, Ledger, LedgerError, SubmitRefused};
pub use merkle::{leaf_hash, node_hash, Hash, MerkleTree};
pub use store::{KeyStore, LedgerStore, PostgresStore, SqliteStore, StoreError};
pub use verify::{verify_consistency, verify_inclusion, ProofError};
