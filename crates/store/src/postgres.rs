//! The PostgreSQL store, for several service instances on one database. Migrations take
//! sqlx's advisory lock, so instances starting together do not race.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::model::{CaseEvent, CaseRecord};
use crate::sql::{conflict_or, CASE_COLUMNS};
use crate::StoreError;

type DB = Postgres;

/// A store in a PostgreSQL database (in the connection's `search_path` schema).
pub struct PostgresStore {
    pool: PgPool,
    /// The same pool: PostgreSQL handles concurrent writers itself.
    writer: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (e.g. `postgres://root@127.0.0.1:5432/test`) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        Self::connect_with(options).await
    }

    /// Connects to `url` with the tables in `schema` (created if missing), so several
    /// services or test runs can share one database.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::BadSchema);
        }
        let options: PgConnectOptions = url.parse()?;
        let mut conn: PgConnection = sqlx::Connection::connect_with(&options).await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&mut conn)
            .await?;
        sqlx::Connection::close(conn).await?;
        Self::connect_with(options.options([("search_path", schema)])).await
    }

    /// Connects with explicit options (e.g. a `search_path` to keep tests apart).
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            writer: pool.clone(),
            pool,
        })
    }

    async fn insert_case_durably(
        &self,
        case: &CaseRecord,
        opened: &CaseEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        insert_case_rows(&mut tx, case, opened).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn insert_case_rows(
    tx: &mut Transaction<'_, DB>,
    c: &CaseRecord,
    opened: &CaseEvent,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO cases ({CASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(&c.id)
    .bind(c.created_at)
    .bind(c.created_by)
    .bind(&c.department)
    .bind(&c.channel)
    .bind(&c.status)
    .bind(&c.outcome)
    .bind(&c.rules_hash)
    .bind(&c.answer_json)
    .bind(c.requires_signoff)
    .bind(&c.personal)
    .bind(&c.action)
    .bind(c.signed_off_by)
    .bind(&c.resolution)
    .bind(c.version)
    .execute(&mut **tx)
    .await
    .map_err(conflict_or)?;
    insert_event(tx, opened, 0).await
}

async fn insert_event(
    tx: &mut Transaction<'_, DB>,
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

crate::sql::impl_store!(PostgresStore);
