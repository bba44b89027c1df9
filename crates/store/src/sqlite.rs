//! The embedded SQLite store (the default): one file in the data directory, WAL with
//! `synchronous=FULL` so an acknowledged write survives a crash.

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use tokio::sync::mpsc;

use crate::model::{CaseEvent, CaseRecord};
use crate::StoreError;

type DB = Sqlite;

/// A store in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    /// One connection: SQLite admits one writer at a time, and queueing writers in the pool
    /// (first come, first served) beats letting them spin on the busy handler.
    writer: SqlitePool,
    /// New cases go to one task that commits everything queued in one transaction (one
    /// fsync), then answers each caller: group commit, as the ledger does.
    inserts: mpsc::Sender<crate::sql::PendingInsert>,
    /// Copies the WAL into the database file every second (aborted with the store).
    checkpointer: tokio::task::JoinHandle<()>,
    /// Tokens recently looked up (see `tokens`).
    tokens: crate::tokens::TokenCache,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.checkpointer.abort();
    }
}

/// How often the WAL is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, which
/// then waits for the copy and the database file's sync: the slowest case creations under
/// load (p99 doubled; BENCHMARKS, service). A passive checkpoint on a reading connection
/// does the same work without holding up the writer. The WAL still restarts from its
/// beginning once a checkpoint has caught up, so it does not grow without bound.
async fn checkpoints(pool: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint failed; retrying in a second");
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and runs the migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("secure_delete", "ON")
            // Checkpoints run on a timer, off the commit path (see `checkpoints`).
            .pragma("wal_autocheckpoint", "0");
        let writer = crate::sql::pool_options::<Sqlite>()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let pool = crate::sql::pool_options::<Sqlite>()
            .max_connections(8)
            .connect_with(options)
            .await?;
        let inserts = start_group_commit(writer.clone());
        let checkpointer = tokio::spawn(checkpoints(pool.clone()));
        Ok(Self {
            pool,
            writer,
            inserts,
            checkpointer,
            tokens: Default::default(),
        })
    }

    async fn insert_case_durably(
        &self,
        case: &CaseRecord,
        opened: &CaseEvent,
    ) -> Result<(), StoreError> {
        insert_queued(&self.inserts, case, opened).await
    }
}

crate::sql::case_writers!();

/// A batch of new cases in one transaction: SQLite has no data-modifying `WITH`.
async fn insert_all(
    writer: &SqlitePool,
    batch: &[crate::sql::PendingInsert],
) -> Result<(), StoreError> {
    let mut tx = writer.begin().await?;
    insert_many(&mut tx, batch).await?;
    tx.commit().await?;
    Ok(())
}

crate::sql::impl_store!(SqliteStore);
