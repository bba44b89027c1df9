//! The embedded SQLite store (the default): one file in the data directory, WAL with
//! `synchronous=FULL` so an acknowledged write survives a crash.

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::model::CaseEvent;
use crate::StoreError;

/// A store in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    /// One connection: SQLite admits one writer at a time, and queueing writers in the pool
    /// (first come, first served) beats letting them spin on the busy handler.
    writer: SqlitePool,
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
        Ok(Self { pool, writer })
    }
}

async fn insert_event(
    tx: &mut Transaction<'_, Sqlite>,
    e: &CaseEvent,
    seq: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO case_events (case_id, seq, kind, ledger_index, actor, at, personal) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&e.case_id)
    .bind(seq)
    .bind(&e.kind)
    .bind(e.ledger_index)
    .bind(e.actor)
    .bind(e.at)
    .bind(&e.personal)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

crate::sql::impl_store!(SqliteStore);
