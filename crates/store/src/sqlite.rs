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
/// load (p99 doubled; BENCHMARKS, service). So checkpoints run here, on a timer, mostly
/// beside the writer:
/// 1. a passive checkpoint on a reading connection copies the WAL into the database file
///    without holding up the writer;
/// 2. the database file is synced here. SQLite syncs it only after a checkpoint that
///    reached the WAL's end, which under steady load never happens: the copied pages then
///    stayed dirty until the kernel wrote them all at once, 30 s later (hundreds of MB,
///    stalling every commit for up to 200 ms);
/// 3. a second passive checkpoint on the writer's own connection, so no commit can add to
///    the WAL meanwhile: it copies only what came in since step 1 and reaches the end, so
///    the next commit starts the WAL from its beginning again. Without it the WAL grew by
///    the whole write load (about 20 KB per case) for as long as the load lasted.
async fn checkpoints(pool: SqlitePool, writer: SqlitePool, database: std::path::PathBuf) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = checkpoint_once(&pool, &writer, &database).await {
            tracing::warn!(error = %e, "WAL checkpoint failed; retrying in a second");
        }
    }
}

async fn checkpoint_once(
    pool: &SqlitePool,
    writer: &SqlitePool,
    database: &Path,
) -> Result<(), StoreError> {
    copy_wal(pool).await?;
    sync_database(database).await?;
    copy_wal(writer).await
}

async fn copy_wal(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(pool)
        .await?;
    Ok(())
}

async fn sync_database(database: &Path) -> Result<(), StoreError> {
    let file = database.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(file)?.sync_data())
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
        .map_err(sqlx::Error::Io)?;
    Ok(())
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
        let checkpointer = tokio::spawn(checkpoints(pool.clone(), writer.clone(), path.to_owned()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewAccount, Role, Store as _};

    async fn add_cases(store: &SqliteStore, by: i64, from: usize, count: usize) {
        for n in from..from + count {
            let id = format!("{n:032x}");
            let case = CaseRecord {
                id: id.clone(),
                created_at: 1000,
                created_by: by,
                department: "police".into(),
                channel: "phone".into(),
                status: "awaiting_action".into(),
                outcome: "decline".into(),
                rules_hash: "abc".into(),
                answer_json: "{}".into(),
                requires_signoff: false,
                personal: vec![7; 200],
                action: None,
                signed_off_by: None,
                resolution: None,
                version: 0,
                retention: Default::default(),
            };
            let opened = CaseEvent {
                case_id: id,
                seq: 0,
                kind: "opened".into(),
                ledger_index: n as i64,
                actor: by,
                at: 1001,
                personal: None,
            };
            store.insert_case(&case, &opened).await.unwrap();
        }
    }

    async fn desk(store: &SqliteStore) -> i64 {
        store
            .create_account(&NewAccount {
                username: "desk".into(),
                role: Role::Desk,
                department: "police".into(),
                password_hash: None,
                created_at: 1,
            })
            .await
            .unwrap()
            .id
    }

    /// Cases with one answer share one `answers` row and keep none in their own; a case
    /// stored before migration 0009 (its answer in its row, no hash) still reads its own.
    #[tokio::test]
    async fn answers_are_stored_once_and_older_cases_still_read_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("citygate.sqlite"))
            .await
            .unwrap();
        let by = desk(&store).await;
        add_cases(&store, by, 0, 5).await;
        let (answers, kept_in_rows): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM answers), \
                    (SELECT count(*) FROM cases WHERE answer_json <> '' OR answer_hash IS NULL)",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        assert_eq!((answers, kept_in_rows), (1, 0));
        let older = format!("{:032x}", 3);
        sqlx::query(
            "UPDATE cases SET answer_json = '{\"older\":1}', answer_hash = NULL WHERE id = $1",
        )
        .bind(&older)
        .execute(&store.writer)
        .await
        .unwrap();
        let read = |id: String| {
            let store = &store;
            async move { store.case(&id).await.unwrap().unwrap().answer_json }
        };
        assert_eq!(read(older).await, r#"{"older":1}"#);
        assert_eq!(read(format!("{:032x}", 2)).await, "{}");
    }

    /// Under steady writes the copy beside the writer never reaches the WAL's end; the
    /// writer's catch-up must, so that the WAL starts again from its beginning.
    #[tokio::test]
    async fn checkpoints_let_the_wal_start_again_under_steady_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("citygate.sqlite");
        let store = SqliteStore::open(&path).await.unwrap();
        store.checkpointer.abort();
        let by = desk(&store).await;
        add_cases(&store, by, 0, 100).await;
        // A reader's snapshot stops the copy short of the WAL's end, as the writes that
        // arrive while it runs do under load.
        let mut reader = store.pool.acquire().await.unwrap();
        sqlx::query("BEGIN").execute(&mut *reader).await.unwrap();
        sqlx::query("SELECT count(*) FROM cases")
            .execute(&mut *reader)
            .await
            .unwrap();
        add_cases(&store, by, 100, 100).await;
        copy_wal(&store.pool).await.unwrap();
        sqlx::query("COMMIT").execute(&mut *reader).await.unwrap();
        drop(reader);
        sync_database(&path).await.unwrap();
        copy_wal(&store.writer).await.unwrap();
        let wal = dir.path().join("citygate.sqlite-wal");
        let size = std::fs::metadata(&wal).unwrap().len();
        add_cases(&store, by, 200, 1).await;
        assert_eq!(
            std::fs::metadata(&wal).unwrap().len(),
            size,
            "the WAL grew instead of starting again from its beginning"
        );
        assert!(store
            .case(&format!("{:032x}", 150))
            .await
            .unwrap()
            .is_some());
    }
}
