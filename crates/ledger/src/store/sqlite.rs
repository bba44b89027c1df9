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
    checkpointer: Checkpointer,
    conn: Connection,
}

/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so one
/// group commit in a thousand also copied the WAL and synced the database file: the slowest
/// appends (BENCHMARKS, service). This thread instead runs a passive checkpoint every second
/// on a connection of its own, which never holds up an append, then syncs the database file:
/// SQLite syncs it only after a checkpoint that reached the WAL's end, which under steady
/// appends never happens, and the copied pages then stayed dirty until the kernel wrote them
/// all at once, stalling every commit. It then asks the appending connection to catch up
/// (see `SqliteStore::append`).
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Set after each checkpoint; the next append then finishes it (see `append`).
    catch_up: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        let database = path.to_owned();
        let catch_up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let asked = catch_up.clone();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ledger-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    // A busy or failed checkpoint or sync leaves the WAL as it is; the next
                    // tick tries again.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    if std::fs::File::open(&database)
                        .and_then(|f| f.sync_data())
                        .is_ok()
                    {
                        asked.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
            .map_err(|_| StoreError::Thread("WAL checkpoint"))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
            catch_up,
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
            checkpointer: Checkpointer::start(path)?,
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
        // Finishes the checkpointer's last checkpoint on this connection, where no append
        // can add to the WAL meanwhile: it copies only what came after it, reaches the WAL's
        // end, and so the next commit writes the WAL from its beginning again. Without it
        // the WAL grew by every append for as long as appends kept coming.
        if self
            .checkpointer
            .catch_up
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(count: usize) -> Vec<NewEntry> {
        (0..count)
            .map(|n| NewEntry {
                leaf: vec![n as u8; 72],
                private: None,
            })
            .collect()
    }

    /// Under steady appends the checkpointer's copy never reaches the WAL's end; the
    /// appending connection's catch-up must, so that the WAL starts again from its beginning.
    #[test]
    fn catch_up_lets_the_wal_start_again_under_steady_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let mut store = SqliteStore::open(&path).unwrap();
        for _ in 0..50 {
            store.append(&entries(4)).unwrap();
        }
        // A reader's snapshot stops the copy short of the WAL's end, as the appends that
        // arrive while it runs do under load.
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT count(*) FROM ledger_leaves", [], |r| r.get(0))
            .unwrap();
        for _ in 0..50 {
            store.append(&entries(4)).unwrap();
        }
        let copier = Connection::open(&path).unwrap();
        copier
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .unwrap();
        reader.execute_batch("COMMIT").unwrap();
        store
            .checkpointer
            .catch_up
            .store(true, std::sync::atomic::Ordering::Relaxed);
        store.append(&entries(1)).unwrap();
        let wal = dir.path().join("ledger.sqlite-wal");
        let size = std::fs::metadata(&wal).unwrap().len();
        store.append(&entries(1)).unwrap();
        assert_eq!(
            std::fs::metadata(&wal).unwrap().len(),
            size,
            "the WAL grew instead of starting again from its beginning"
        );
        assert_eq!(store.size().unwrap(), 402);
    }
}
