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

/// A batch of new cases in one statement, so one round trip and no `BEGIN`/`COMMIT`
/// (a statement commits on its own). The events' foreign keys are checked at the end of
/// the statement, when the cases of its `WITH` are in.
async fn insert_all(
    writer: &PgPool,
    batch: &[crate::sql::PendingInsert],
) -> Result<(), StoreError> {
    let mut q = sqlx::QueryBuilder::<Postgres>::new("WITH stored AS (");
    push_answers(&mut q, batch);
    q.push("), opened AS (");
    push_cases(&mut q, batch);
    q.push(" RETURNING id) ");
    push_events(&mut q, batch);
    q.build()
        .execute(writer)
        .await
        .map_err(crate::sql::conflict_or)?;
    Ok(())
}

crate::sql::impl_store!(PostgresStore);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewAccount, Role, Store as _};

    /// A store in a schema of its own, or `None` (with a notice) without PostgreSQL.
    async fn scratch_store(name: &str) -> Option<(PostgresStore, String)> {
        let url = "postgres://root@127.0.0.1:5432/test";
        if sqlx::PgPool::connect(url).await.is_err() {
            eprintln!("NOTICE: PostgreSQL not reachable at {url}; skipped");
            return None;
        }
        let schema = format!("cg_{name}_{}", std::process::id());
        let store = PostgresStore::connect_in_schema(url, &schema)
            .await
            .unwrap();
        Some((store, schema))
    }

    async fn drop_schema(store: &PostgresStore, schema: &str) {
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&store.pool)
            .await
            .unwrap();
    }

    /// The one-statement batch itself must be accepted (the savepoint fallback would hide a
    /// refusal from the store suite, which only sees every case stored).
    #[tokio::test]
    async fn a_batch_of_cases_and_events_goes_in_as_one_statement() {
        let Some((store, schema)) = scratch_store("batch").await else {
            return;
        };
        let desk = store
            .create_account(&NewAccount {
                username: "dee".into(),
                role: Role::Desk,
                department: "police".into(),
                password_hash: None,
                created_at: 1,
            })
            .await
            .unwrap();
        let pending = |id: &str| {
            let (reply, _) = tokio::sync::oneshot::channel();
            crate::sql::PendingInsert::new(
                CaseRecord {
                    id: id.into(),
                    created_at: 2,
                    created_by: desk.id,
                    department: "police".into(),
                    channel: "in_person".into(),
                    status: "awaiting_action".into(),
                    outcome: "decline".into(),
                    rules_hash: "h".into(),
                    answer_json: "{}".into(),
                    requires_signoff: false,
                    personal: vec![1],
                    action: None,
                    signed_off_by: None,
                    resolution: None,
                    version: 0,
                    retention: Default::default(),
                },
                CaseEvent {
                    case_id: id.into(),
                    seq: 0,
                    kind: "opened".into(),
                    ledger_index: 0,
                    actor: desk.id,
                    at: 2,
                    personal: None,
                },
                reply,
            )
        };
        let batch = [pending("c-1"), pending("c-2")];
        insert_all(&store.writer, &batch).await.unwrap();
        assert_eq!(store.case_events("c-2").await.unwrap().len(), 1);
        assert!(matches!(
            insert_all(&store.writer, &batch[..1]).await,
            Err(StoreError::Conflict)
        ));
        drop_schema(&store, &schema).await;
    }

    /// Answers are compressed with lz4 where the server has it (migrations 0008 and 0009).
    #[tokio::test]
    async fn case_answers_are_compressed_with_lz4() {
        let Some((store, schema)) = scratch_store("lz4").await else {
            return;
        };
        let has_lz4: bool = sqlx::query_scalar(
            "SELECT count(*) = 1 FROM pg_settings \
             WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        for table in ["cases", "answers"] {
            let method: String = sqlx::query_scalar(
                "SELECT attcompression::text FROM pg_attribute \
                 WHERE attrelid = $1::regclass AND attname = 'answer_json'",
            )
            .bind(format!("{schema}.{table}"))
            .fetch_one(&store.pool)
            .await
            .unwrap();
            assert_eq!(method, if has_lz4 { "l" } else { "" }, "{table}");
        }
        drop_schema(&store, &schema).await;
    }
}
