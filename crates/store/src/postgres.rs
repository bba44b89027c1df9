//! The PostgreSQL store, for several service instances on one database. Migrations take
//! sqlx's advisory lock, so instances starting together do not race.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{PgConnection, PgPool, Postgres};

use crate::model::{CaseEvent, CaseRecord};
use crate::StoreError;

type DB = Postgres;

/// A store in a PostgreSQL database (in the connection's `search_path` schema).
pub struct PostgresStore {
    pool: PgPool,
    /// The same pool: PostgreSQL handles concurrent writers itself.
    writer: PgPool,
    /// New cases go to one task that commits everything queued in one transaction (one
    /// WAL flush), then answers each caller: group commit, as on SQLite.
    inserts: tokio::sync::mpsc::Sender<crate::sql::PendingInsert>,
    /// Tokens recently looked up (see `tokens`).
    tokens: crate::tokens::TokenCache,
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
        let pool = crate::sql::pool_options::<Postgres>()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            writer: pool.clone(),
            inserts: start_group_commit(pool.clone()),
            pool,
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

crate::sql::impl_store!(PostgresStore);
