//! The embedded SQLite store (the default).
//!
//! WAL with `synchronous=FULL` makes every commit fsync the WAL before it returns, and
//! `secure_delete` plus a WAL truncation after an erasure leave no copy of erased bytes.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{LedgerStore, StoreError};
use crate::entry::{NewEntry, PrivateRecord};
use crate::merkle::Hash;

/// How long a write waits for another process's transaction.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long an erasure waits for other readers before reporting the scrub as pending;
/// short, because appends wait behind it.
const SCRUB_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// How often the WAL is copied into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A ledger store in one SQLite file.
pub struct SqliteStore {
    /// Stopped first, so the appending connection is the last to close.
    _checkpointer: Checkpointer,
    conn: Connection,
}

/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so one
/// group commit in a thousand also copied the WAL and synced the database file: the slowest
/// appends (BENCHMARKS, service). This thread runs a passive checkpoint every second on a
/// connection of its own instead, which never holds up an append.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ledger-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    // A busy or failed checkpoint leaves the WAL as it is; the next tick
                    // tries again.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .map_err(|_| StoreError::Thread("WAL checkpoint"))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger_leaves (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_private (idx INTEGER PRIMARY KEY, nonce BLOB NOT NULL, details BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ledger_blocks (block INTEGER PRIMARY KEY, root BLOB NOT NULL);
";

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.execute_batch(SCHEMA)?;
        let store = Self {
            _checkpointer: Checkpointer::start(path)?,
            conn,
        };
        // Finish any scrub an earlier erasure could not complete, without waiting for
        // other processes: if they are busy, a later open or erasure does it.
        match store.truncate_wal(std::time::Duration::ZERO) {
            Ok(_) | Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(_, _))) => Ok(store),
            Err(e) => Err(e),
        }
    }

    /// Copies the WAL into the database and truncates it, waiting at most `wait` for other
    /// processes; false if a reader prevented it.
    fn truncate_wal(&self, wait: std::time::Duration) -> Result<bool, StoreError> {
        self.conn.busy_timeout(wait)?;
        let busy = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            });
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(busy? == 0)
    }

    fn insert(tx: &rusqlite::Transaction<'_>, entries: &[NewEntry]) -> Result<u64, StoreError> {
        let start: u64 = tx.query_row(
            "SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64;
        let mut leaf_stmt =
            tx.prepare_cached("INSERT INTO ledger_leaves (idx, leaf) VALUES (?1, ?2)")?;
        let mut priv_stmt = tx.prepare_cached(
            "INSERT INTO ledger_private (idx, nonce, details) VALUES (?1, ?2, ?3)",
        )?;
        for (i, e) in entries.iter().enumerate() {
            let idx = (start + i as u64) as i64;
            leaf_stmt.execute(params![idx, e.leaf])?;
            if let Some(p) = &e.private {
                priv_stmt.execute(params![idx, &p.nonce[..], p.details])?;
            }
        }
        Ok(start)
    }
}

impl LedgerStore for SqliteStore {
    fn append(&mut self, entries: &[NewEntry]) -> Result<u64, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let start = Self::insert(&tx, entries)?;
        tx.commit()?;
        Ok(start)
    }

    fn erase(&mut self, index: u64, erasure: &NewEntry) -> Result<u64, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let deleted = tx.execute(
            "DELETE FROM ledger_private WHERE idx = ?1",
            params![index as i64],
        )?;
        if deleted == 0 {
            return Err(StoreError::NothingToErase(index));
        }
        let at = Self::insert(&tx, std::slice::from_ref(erasure))?;
        tx.commit()?;
        // Older WAL frames still hold the record's page as it was; copy the zeroed page into
        // the database and truncate the WAL so no copy survives.
        if !self.truncate_wal(SCRUB_WAIT)? {
            return Err(StoreError::ScrubIncomplete { erasure_index: at });
        }
        Ok(at)
    }

    fn size(&mut self) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_leaves",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    fn leaves(&mut self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT idx, leaf FROM ledger_leaves WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
        )?;
        let rows = stmt.query_map(params![start as i64, end as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        for row in rows {
            let (idx, leaf) = row?;
            if idx as u64 != start + out.len() as u64 {
                return Err(StoreError::Corrupt(format!(
                    "entry {} is missing",
                    start + out.len() as u64
                )));
            }
            out.push(leaf);
        }
        if out.len() as u64 != end.saturating_sub(start) {
            return Err(StoreError::Corrupt(format!(
                "entry {} is missing",
                start + out.len() as u64
            )));
        }
        Ok(out)
    }

    fn private_record(&mut self, index: u64) -> Result<Option<PrivateRecord>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT nonce, details FROM ledger_private WHERE idx = ?1",
                params![index as i64],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()?;
        row.map(|(nonce, details)| {
            let nonce: [u8; 32] = nonce.try_into().map_err(|_| {
                StoreError::Corrupt(format!("nonce of entry {index} is not 32 bytes"))
            })?;
            Ok(PrivateRecord { nonce, details })
        })
        .transpose()
    }

    fn put_checkpoint(&mut self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO ledger_checkpoints (size, note) VALUES (?1, ?2)",
            params![size as i64, note],
        )?;
        Ok(())
    }

    fn latest_checkpoint(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn block_roots(&mut self, start: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT block, root FROM ledger_blocks WHERE block >= ?1 AND block < ?2 ORDER BY block",
        )?;
        let rows = stmt
            .query_map(params![start as i64, end as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        super::contiguous_roots(start, rows)
    }

    fn put_block_roots(&mut self, start: u64, roots: &[Hash]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO ledger_blocks (block, root) VALUES (?1, ?2)",
            )?;
            for (block, root) in (start..).zip(roots) {
                stmt.execute(params![block as i64, &root[..]])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
