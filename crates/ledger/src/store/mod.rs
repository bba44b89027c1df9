//! Storage behind a small trait, so the ledger runs on SQLite or PostgreSQL.
//!
//! A store is durable: `append` and `erase` return only after the data is synced.
//! Indexes are assigned by the store inside its write transaction, so several writers
//! (even in several processes) never create a gap or a duplicate.

mod keys;
mod postgres;
mod sqlite;

pub use self::keys::KeyStore;
pub use self::postgres::PostgresStore;
pub use self::sqlite::SqliteStore;

use crate::entry::{NewEntry, PrivateRecord};
use crate::merkle::Hash;

/// Errors from a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("postgres: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// A thread of the store could not be started.
    #[error("cannot start the store's {0} thread")]
    Thread(&'static str),
    /// The stored data is not what the ledger wrote.
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    /// A PostgreSQL schema name outside the allowed characters.
    #[error("schema `{0}`: use only a-z, 0-9 and _")]
    BadSchema(String),
    /// The erasure (logged at `erasure_index`) is committed, but old copies could not be
    /// destroyed yet: another reader kept SQLite from discarding the erased page, or the
    /// PostgreSQL store could not overwrite the entry's key. They are destroyed when the
    /// store is next opened (alone, for SQLite; with the key file, for PostgreSQL).
    #[error("the erasure is logged as entry {erasure_index}, but old copies of the erased record remain (another process was reading the store, or the key file could not be written) until the ledger is next opened")]
    ScrubIncomplete {
        /// Index of the committed erasure event.
        erasure_index: u64,
    },
    /// The per-entry key file cannot be read or written.
    #[error("ledger key file {path}: {source}")]
    KeyStore {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The per-entry key file is not one.
    #[error("ledger key file {0}: not a citygate ledger key file")]
    KeyStoreMalformed(String),
    /// The key file and the database belong to different ledgers (or the ledger's key file
    /// was replaced): sealing or erasing with it would lose or leave keys.
    #[error("ledger key file {0} does not belong to this ledger's database; every instance must use the ledger's one key file")]
    KeyStoreMismatch(String),
    /// The ledger seals private records with per-entry keys, but this store was opened
    /// without its key file.
    #[error("this ledger keeps per-entry keys in a key file; open it with the key file to write, read or erase private records")]
    KeysRequired,
    /// An erasure named an entry that has no private record (never had one, or already erased).
    #[error("entry {0} has no private record to erase")]
    NothingToErase(u64),
}

/// The ledger's storage: public leaves, private records, and signed checkpoints.
pub trait LedgerStore: Send {
    /// Durably appends `entries` at the next free indexes; returns the first index.
    fn append(&mut self, entries: &[NewEntry]) -> Result<u64, StoreError>;
    /// In one durable transaction, deletes the private record of `index` (details and nonce,
    /// leaving no copy behind) and appends `erasure`; returns the erasure's index.
    fn erase(&mut self, index: u64, erasure: &NewEntry) -> Result<u64, StoreError>;
    /// Number of entries.
    fn size(&mut self) -> Result<u64, StoreError>;
    /// Public leaves `start..end`, in order.
    fn leaves(&mut self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError>;
    /// The private record of entry `index`, if it has one that was not erased.
    fn private_record(&mut self, index: u64) -> Result<Option<PrivateRecord>, StoreError>;
    /// Stores (or replaces, e.g. with cosignatures added) the signed checkpoint of `size`.
    fn put_checkpoint(&mut self, size: u64, note: &[u8]) -> Result<(), StoreError>;
    /// The signed checkpoint with the largest size, if any.
    fn latest_checkpoint(&mut self) -> Result<Option<Vec<u8>>, StoreError>;
    /// The stored roots of blocks `start..end` (block `b` holds leaves
    /// `b * BLOCK..(b + 1) * BLOCK`, [`crate::compact::BLOCK`]): those stored without a gap
    /// from `start`, so possibly fewer. A cache of what the leaves give, so that opening a
    /// ledger does not hash every leaf.
    fn block_roots(&mut self, start: u64, end: u64) -> Result<Vec<Hash>, StoreError>;
    /// Stores the roots of blocks `start..start + roots.len()`; a block already stored keeps
    /// its root (another instance wrote the same).
    fn put_block_roots(&mut self, start: u64, roots: &[Hash]) -> Result<(), StoreError>;
}

/// Checks block roots read from a store: each `(block, root)` row in order, kept while the
/// blocks follow on from `start` without a gap.
fn contiguous_roots(
    start: u64,
    rows: impl IntoIterator<Item = (i64, Vec<u8>)>,
) -> Result<Vec<Hash>, StoreError> {
    let mut roots = Vec::new();
    for (block, root) in rows {
        if block as u64 != start + roots.len() as u64 {
            break;
        }
        let root: Hash = root.try_into().map_err(|_| {
            StoreError::Corrupt(format!("the root of block {block} is not 32 bytes"))
        })?;
        roots.push(root);
    }
    Ok(roots)
}
