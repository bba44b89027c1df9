//! Key rotation (`citygate keys rotate`): a new key is appended to the key file and becomes
//! the current one, every sealed value in the store is re-sealed under it in batches, and
//! the old keys may then be retired from the file.
//!
//! Safe to interrupt and run again: the key file is replaced atomically and keeps the old
//! keys until every value is re-sealed, so each value opens whichever key sealed it; each
//! batch commits in one transaction and replaces a value only if it is unchanged since it
//! was read. A run that finds values still sealed under an older key of the file resumes
//! with the current key instead of adding another. Sealing contexts are unchanged, so each
//! ciphertext stays bound to its row.
//!
//! Run it with the service stopped (every instance): a running service holds the key file
//! it read at start and would seal new values under the old key.

use std::sync::Arc;

use citygate_store::{Resealed, SealedColumn, SealedValue, StoreError};

use crate::routes::cases::{event_context, personal_context};
use crate::routes::documents::document_context;
use crate::vault::{Vault, VaultError};
use crate::{Config, ServeError};

/// Rows re-sealed per transaction by default.
pub const DEFAULT_BATCH: i64 = 200;
/// Documents are large: at most this many per transaction, whatever the batch size.
const DOCUMENT_BATCH: i64 = 16;

/// Why a rotation failed.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The store could not be opened.
    #[error(transparent)]
    Open(#[from] ServeError),
    /// The key file is missing or unusable.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Nothing to rotate: no key file, or no SQLite database in the data directory.
    #[error("{0} does not exist: nothing to rotate (check --data-dir, --key-file, DATABASE_URL)")]
    Missing(std::path::PathBuf),
}

/// How to rotate.
#[derive(Debug, Clone)]
pub struct RotateOptions {
    /// Rows per transaction (documents: at most 16).
    pub batch: i64,
    /// Remove the old keys from the key file once nothing is sealed under them.
    pub retire_old: bool,
    /// Stop after this many batches (to spread a long rotation over several runs; tests use
    /// it to simulate an interruption).
    pub max_batches: Option<u64>,
}

impl Default for RotateOptions {
    fn default() -> Self {
        Self {
            batch: DEFAULT_BATCH,
            retire_old: false,
            max_batches: None,
        }
    }
}

/// What a rotation is doing, for progress output. Carries counts and key ids only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The rotation targets `key_id`; `resumed` if an earlier run added it; `pending`
    /// values are sealed under other keys.
    Started {
        /// The current key.
        key_id: u32,
        /// An earlier run added the key.
        resumed: bool,
        /// Values to re-seal.
        pending: i64,
    },
    /// A batch of `column` committed.
    Batch {
        /// The column.
        column: SealedColumn,
        /// Values re-sealed by this run so far.
        done: u64,
        /// Values to re-seal when the run started.
        pending: i64,
    },
    /// The old keys were removed from the key file.
    Retired {
        /// Their ids.
        key_ids: Vec<u32>,
    },
}

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateReport {
    /// The key everything is being re-sealed under.
    pub key_id: u32,
    /// This run continued an earlier one.
    pub resumed: bool,
    /// Values re-sealed by this run.
    pub resealed: u64,
    /// Values still sealed under another key (0 when done).
    pub remaining: i64,
    /// Values that no key of the file opens (altered or sealed under a lost key); left as
    /// they are.
    pub unopenable: u64,
    /// Keys removed from the file.
    pub retired: Vec<u32>,
    /// The run stopped at `max_batches`.
    pub stopped_early: bool,
}

/// The prefix of values sealed under `key_id` (layout version and key id).
fn prefix(key_id: u32) -> Vec<u8> {
    let mut p = vec![1u8];
    p.extend_from_slice(&key_id.to_be_bytes());
    p
}

fn context(value: &SealedValue) -> String {
    match value.at.column {
        SealedColumn::CasePersonal => personal_context(&value.at.case_id),
        SealedColumn::EventPersonal => event_context(&value.at.case_id, value.ledger_index),
        SealedColumn::DocumentContent => document_context(&value.at.case_id, value.ledger_index),
    }
}

/// Rotates the key of the service configured by `config` (see the module docs).
pub async fn rotate(
    config: &Config,
    options: &RotateOptions,
    mut progress: impl FnMut(&Progress),
) -> Result<RotateReport, RotateError> {
    let key_file = config.key_file();
    if !key_file.exists() {
        return Err(RotateError::Missing(key_file));
    }
    if config.database_url.is_none() {
        let db = config.data_dir.join("citygate.sqlite");
        if !db.exists() {
            return Err(RotateError::Missing(db));
        }
    }
    let (store, _) = crate::open_store(config).await?;
    let mut vault = Vault::load(&key_file)?;
    let mut pending = store
        .count_sealed_without(&prefix(vault.current_key_id()))
        .await?;
    let resumed = vault.key_ids().len() > 1 && pending > 0;
    if !resumed {
        vault = Vault::add_key(&key_file)?;
        pending = store
            .count_sealed_without(&prefix(vault.current_key_id()))
            .await?;
    }
    let key_id = vault.current_key_id();
    progress(&Progress::Started {
        key_id,
        resumed,
        pending,
    });
    let mut report = RotateReport {
        key_id,
        resumed,
        resealed: 0,
        remaining: pending,
        unopenable: 0,
        retired: Vec::new(),
        stopped_early: false,
    };
    let vault = Arc::new(vault);
    let mut batches = 0u64;
    'columns: for column in SealedColumn::ALL {
        let limit = match column {
            SealedColumn::DocumentContent => options.batch.clamp(1, DOCUMENT_BATCH),
            _ => options.batch.max(1),
        };
        let mut after = None;
        loop {
            if options.max_batches.is_some_and(|max| batches >= max) {
                report.stopped_early = true;
                break 'columns;
            }
            let values = store
                .sealed_values(column, &prefix(key_id), after.as_ref(), limit)
                .await?;
            let Some(last) = values.last() else {
                break;
            };
            after = Some(last.at.clone());
            let vault = vault.clone();
            // Sealing is CPU work (documents are large): off the async threads.
            let (resealed, unopenable) = tokio::task::spawn_blocking(move || {
                let mut resealed = Vec::with_capacity(values.len());
                let mut unopenable = 0u64;
                for value in values {
                    let context = context(&value);
                    match vault.open(&context, &value.sealed) {
                        Ok(plain) => resealed.push(Resealed {
                            new: vault.seal(&context, &plain),
                            at: value.at,
                            old: value.sealed,
                        }),
                        Err(_) => unopenable += 1,
                    }
                }
                (resealed, unopenable)
            })
            .await
            .map_err(|e| RotateError::Store(StoreError::Batch(e.to_string())))?;
            report.unopenable += unopenable;
            report.resealed += store.reseal(&resealed).await?;
            batches += 1;
            progress(&Progress::Batch {
                column,
                done: report.resealed,
                pending,
            });
        }
    }
    report.remaining = store.count_sealed_without(&prefix(key_id)).await?;
    if options.retire_old && report.remaining == 0 && !report.stopped_early {
        let old: Vec<u32> = vault
            .key_ids()
            .into_iter()
            .filter(|&id| id != key_id)
            .collect();
        if !old.is_empty() {
            Vault::retire_old_keys(&key_file)?;
            progress(&Progress::Retired {
                key_ids: old.clone(),
            });
            report.retired = old;
        }
    }
    Ok(report)
}
