//! The embedded SQLite store (the default): one file in the data directory, WAL with
//! `synchronous=FULL` so an acknowledged write survives a crash.

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::model::{CaseEvent, CaseRecord};
use crate::StoreError;

type DB = Sqlite;

/// Most case insertions committed in one transaction.
const MAX_BATCH: usize = 256;

struct PendingInsert {
    case: CaseRecord,
    opened: CaseEvent,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// A store in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    /// One connection: SQLite admits one writer at a time, and queueing writers in the pool
    /// (first come, first served) beats letting them spin on the busy handler.
    writer: SqlitePool,
    /// New cases go to one task that commits everything queued in one transaction (one
    /// fsync), then answers each caller: group commit, as the ledger does.
    inserts: mpsc::Sender<PendingInsert>,
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
            .pragma("secure_delete", "ON");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        let (inserts, queue) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(insert_batches(writer.clone(), queue));
        Ok(Self {
            pool,
            writer,
            inserts,
        })
    }

    async fn insert_case_durably(
        &self,
        case: &CaseRecord,
        opened: &CaseEvent,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let pending = PendingInsert {
            case: case.clone(),
            opened: opened.clone(),
            reply,
        };
        let closed = || StoreError::Batch("the store is shutting down".into());
        self.inserts.send(pending).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn insert_batches(writer: SqlitePool, mut queue: mpsc::Receiver<PendingInsert>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        match commit_batch(&writer, &batch).await {
            Ok(results) => {
                for (p, r) in batch.into_iter().zip(results) {
                    let _ = p.reply.send(r);
                }
            }
            Err(e) => {
                let message = e.to_string();
                for p in batch {
                    let _ = p.reply.send(Err(StoreError::Batch(message.clone())));
                }
            }
        }
    }
}

/// One transaction for the batch; each case in its own savepoint, so one refused case
/// (a duplicate id) does not sink the others.
async fn commit_batch(
    writer: &SqlitePool,
    batch: &[PendingInsert],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let mut tx = writer.begin().await?;
    let mut results = Vec::with_capacity(batch.len());
    for p in batch {
        let mut savepoint = sqlx::Acquire::begin(&mut tx).await?;
        match insert_case_rows(&mut savepoint, &p.case, &p.opened).await {
            Ok(()) => {
                savepoint.commit().await?;
                results.push(Ok(()));
            }
            Err(e) => {
                savepoint.rollback().await?;
                results.push(Err(e));
            }
        }
    }
    tx.commit().await?;
    Ok(results)
}

crate::sql::case_writers!();

crate::sql::impl_store!(SqliteStore);
