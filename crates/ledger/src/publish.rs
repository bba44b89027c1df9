//! Glue between the ledger and its published forms: opening the configured store, signing
//! checkpoints, receipts and witness requests.

use std::path::{Path, PathBuf};

use crate::checkpoint::{verify_checkpoint, CheckpointError, LogKey, Policy};
use crate::ledger::{Ledger, LedgerError};
use crate::receipt::Receipt;
use crate::store::{PostgresStore, SqliteStore, StoreError};
use crate::witness::add_checkpoint_request;

/// File name of the SQLite store inside the data directory.
pub const SQLITE_FILE: &str = "ledger.sqlite";
/// File name of the log's signing key inside the data directory.
pub const KEY_FILE: &str = "ledger.key";
/// File name of the PostgreSQL ledger's per-entry keys inside the data directory.
pub const ENTRY_KEYS_FILE: &str = "ledger.keys";

/// Errors from publishing operations.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Signing or checking a checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// A stored checkpoint was not signed by this log's key.
    #[error("the stored checkpoint does not verify with this log's key: {0}")]
    StoredCheckpoint(String),
}

/// Opens the ledger: PostgreSQL when `database_url` is given (private records sealed under
/// per-entry keys in `data_dir`), else SQLite in `data_dir`.
pub fn open_ledger(data_dir: &Path, database_url: Option<&str>) -> Result<Ledger, PublishError> {
    ensure_dir(data_dir)?;
    let store: Box<dyn crate::LedgerStore> = match database_url {
        Some(url) => Box::new(
            PostgresStore::connect_with_keys(url, "public", &data_dir.join(ENTRY_KEYS_FILE))
                .map_err(LedgerError::from)?,
        ),
        None => Box::new(
            SqliteStore::open(&data_dir.join(SQLITE_FILE))
                .map_err(|e: StoreError| LedgerError::from(e))?,
        ),
    };
    Ok(Ledger::open(store)?)
}

/// Creates `dir` (owner-only) if it is missing.
pub fn ensure_dir(dir: &Path) -> Result<(), PublishError> {
    let err = |source| PublishError::DataDir {
        path: dir.display().to_string(),
        source,
    };
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(err)?;
    }
    Ok(())
}

/// The log key in `data_dir`, generated with `origin` on first use.
pub fn log_key(data_dir: &Path, origin: &str) -> Result<LogKey, PublishError> {
    ensure_dir(data_dir)?;
    Ok(LogKey::load_or_create(&key_path(data_dir), origin)?)
}

/// Where the log key lives.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

/// The checkpoint of the current tree: the stored one if it is current (it may carry
/// cosignatures), else a freshly signed and stored one.
pub fn current_checkpoint(ledger: &Ledger, key: &LogKey) -> Result<(u64, Vec<u8>), PublishError> {
    let (size, root) = ledger.head();
    if let Some(note) = ledger.latest_checkpoint()? {
        let policy = Policy {
            log_key: key.verifier_key().to_owned(),
            witnesses: vec![],
            quorum: 0,
        };
        let cp = verify_checkpoint(&note, &policy)
            .map_err(|e| PublishError::StoredCheckpoint(e.to_string()))?;
        if cp.size == size && cp.root == root {
            return Ok((size, note));
        }
    }
    let note = key.sign_checkpoint(size, &root)?;
    ledger.put_checkpoint(size, &note)?;
    Ok((size, note))
}

/// A tlog-proof receipt for entry `index` against the current checkpoint.
pub fn receipt(ledger: &Ledger, key: &LogKey, index: u64) -> Result<Receipt, PublishError> {
    let (size, checkpoint) = current_checkpoint(ledger, key)?;
    let proof = ledger.inclusion_proof(index, size)?;
    let leaf = ledger.leaves(index, index + 1)?.remove(0);
    Ok(Receipt {
        leaf,
        index,
        proof,
        checkpoint,
    })
}

/// The tlog-witness add-checkpoint request from size `old` to the current checkpoint.
pub fn witness_request(ledger: &Ledger, key: &LogKey, old: u64) -> Result<Vec<u8>, PublishError> {
    let (size, checkpoint) = current_checkpoint(ledger, key)?;
    let proof = if old == 0 {
        vec![]
    } else {
        ledger.consistency_proof(old, size)?
    };
    Ok(add_checkpoint_request(old, &proof, &checkpoint))
}

/// Adds witness cosignature lines to the stored checkpoint of the same tree, after checking
/// that each of `witness_keys` cosigned it (a bad line would make verifiers reject the note).
pub fn attach(
    ledger: &Ledger,
    key: &LogKey,
    lines: &str,
    witness_keys: &[String],
) -> Result<Vec<u8>, PublishError> {
    let (size, note) = current_checkpoint(ledger, key)?;
    let cosigned = crate::checkpoint::attach_cosignatures(&note, lines)?;
    let policy = Policy {
        log_key: key.verifier_key().to_owned(),
        witnesses: witness_keys.to_vec(),
        quorum: witness_keys.len(),
    };
    verify_checkpoint(&cosigned, &policy)?;
    ledger.put_checkpoint(size, &cosigned)?;
    Ok(cosigned)
}

/// The opening of entry `index` (details and nonce), or `None` if it has no private record
/// (erased, or an erasure event).
pub fn opening(ledger: &Ledger, index: u64) -> Result<Option<crate::Opening>, PublishError> {
    Ok(ledger
        .private_record(index)?
        .map(|r| crate::Opening::new(index, &r)))
}
