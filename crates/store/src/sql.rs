//! The SQL both stores share. SQLite and PostgreSQL accept the same statements here
//! (`$n` parameters, `RETURNING`, `ON CONFLICT`), so one macro implements [`Store`] for
//! both pools and the two cannot drift apart.

use crate::model::{AccessEntry, Account, CaseEvent, CaseRecord, DocumentRecord, Role, Session};
use crate::StoreError;

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    pub(crate) id: i64,
    username: String,
    role: String,
    department: String,
    password_hash: Option<String>,
    disabled: bool,
    created_at: i64,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<Self, StoreError> {
        let role = Role::parse(&r.role)
            .ok_or_else(|| StoreError::Corrupt(format!("account {} has an unknown role", r.id)))?;
        Ok(Account {
            id: r.id,
            username: r.username,
            role,
            department: r.department,
            password_hash: r.password_hash,
            disabled: r.disabled,
            created_at: r.created_at,
        })
    }
}

/// An API token with its account, from one query.
#[derive(sqlx::FromRow)]
pub(crate) struct TokenAccountRow {
    pub(crate) token_hash: Vec<u8>,
    pub(crate) label: String,
    pub(crate) token_created_at: i64,
    #[sqlx(flatten)]
    pub(crate) account: AccountRow,
}

/// A session with its account, from one query.
#[derive(sqlx::FromRow)]
pub(crate) struct SessionAccountRow {
    #[sqlx(flatten)]
    pub(crate) session: Session,
    #[sqlx(flatten)]
    pub(crate) account: AccountRow,
}

#[derive(sqlx::FromRow)]
pub(crate) struct CaseRow {
    id: String,
    created_at: i64,
    created_by: i64,
    department: String,
    channel: String,
    status: String,
    outcome: String,
    rules_hash: String,
    answer_json: String,
    requires_signoff: bool,
    personal: Vec<u8>,
    action: Option<String>,
    signed_off_by: Option<i64>,
    resolution: Option<String>,
    version: i64,
    #[sqlx(flatten)]
    retention: crate::model::CaseRetention,
}

impl From<CaseRow> for CaseRecord {
    fn from(r: CaseRow) -> Self {
        CaseRecord {
            id: r.id,
            created_at: r.created_at,
            created_by: r.created_by,
            department: r.department,
            channel: r.channel,
            status: r.status,
            outcome: r.outcome,
            rules_hash: r.rules_hash,
            answer_json: r.answer_json,
            requires_signoff: r.requires_signoff,
            personal: r.personal,
            action: r.action,
            signed_off_by: r.signed_off_by,
            resolution: r.resolution,
            version: r.version,
            retention: r.retention,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    case_id: String,
    seq: i64,
    kind: String,
    ledger_index: i64,
    actor: i64,
    at: i64,
    personal: Option<Vec<u8>>,
}

impl From<EventRow> for CaseEvent {
    fn from(r: EventRow) -> Self {
        CaseEvent {
            case_id: r.case_id,
            seq: r.seq,
            kind: r.kind,
            ledger_index: r.ledger_index,
            actor: r.actor,
            at: r.at,
            personal: r.personal,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccessRow {
    id: i64,
    account_id: i64,
    case_id: String,
    at: i64,
    what: String,
}

impl From<AccessRow> for AccessEntry {
    fn from(r: AccessRow) -> Self {
        AccessEntry {
            id: r.id,
            account_id: r.account_id,
            case_id: r.case_id,
            at: r.at,
            what: r.what,
        }
    }
}

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, username, role, department, password_hash, disabled, created_at";
/// [`ACCOUNT_COLUMNS`] of an `accounts a` joined to another table.
pub(crate) const JOINED_ACCOUNT_COLUMNS: &str =
    "a.id, a.username, a.role, a.department, a.password_hash, a.disabled, a.created_at";
/// A case's columns, with `$answer` where its answer goes.
macro_rules! case_columns {
    ($answer:literal) => {
        concat!(
            "id, created_at, created_by, department, channel, status, outcome, rules_hash, ",
            $answer,
            ", requires_signoff, personal, action, signed_off_by, resolution, version, \
             retention, closed_at, retention_due, documents_purged_at, details_purged_at"
        )
    };
}
/// A case as read from `cases`, its answer from `answers` (migration 0009) or, for a case
/// stored before that, from its own row.
pub(crate) const CASE_COLUMNS: &str = case_columns!(
    "COALESCE((SELECT a.answer_json FROM answers a WHERE a.hash = cases.answer_hash), \
     cases.answer_json) AS answer_json"
);
/// A case as written: the answer by its hash, stored once in `answers`.
pub(crate) const CASE_INSERT_COLUMNS: &str = case_columns!("answer_json, answer_hash");

#[derive(sqlx::FromRow)]
pub(crate) struct DocumentRow {
    case_id: String,
    n: i64,
    ledger_index: i64,
    uploaded_by: i64,
    at: i64,
    size: i64,
    format: String,
    kind: Option<String>,
    confidence: String,
    uncertain: bool,
    purged_at: Option<i64>,
}

impl From<DocumentRow> for DocumentRecord {
    fn from(r: DocumentRow) -> Self {
        DocumentRecord {
            case_id: r.case_id,
            n: r.n,
            ledger_index: r.ledger_index,
            uploaded_by: r.uploaded_by,
            at: r.at,
            size: r.size,
            format: r.format,
            kind: r.kind,
            confidence: r.confidence,
            uncertain: r.uncertain,
            purged_at: r.purged_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DocumentContentRow {
    #[sqlx(flatten)]
    pub(crate) document: DocumentRow,
    pub(crate) content: Vec<u8>,
}

pub(crate) const DOCUMENT_COLUMNS: &str =
    "case_id, n, ledger_index, uploaded_by, at, size, format, kind, confidence, uncertain, \
     purged_at";

/// Maps a uniqueness violation to [`StoreError::Conflict`].
pub(crate) fn conflict_or(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(e),
    }
}

/// A pooled connection idle this long is checked before use: long enough that a busy
/// service never pays for the check, short enough to notice a server restart or a firewall
/// that dropped the connection before a query fails on it.
const IDLE_BEFORE_PING: std::time::Duration = std::time::Duration::from_secs(30);

/// Pool settings both stores share. By default sqlx pings every connection it hands out,
/// which costs a round trip to PostgreSQL (or a hop to SQLite's worker thread) before every
/// query; only connections idle for [`IDLE_BEFORE_PING`] are pinged here.
pub(crate) fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < IDLE_BEFORE_PING {
                    return Ok(true);
                }
                // A failed ping closes this connection; the pool opens another.
                Ok(sqlx::Connection::ping(conn).await.is_ok())
            })
        })
}

/// Most case insertions committed in one transaction. Each case binds at most 30 values (21
/// for its row, 7 for its event, 2 for its answer), so a batch stays far below SQLite's
/// 32,766 and PostgreSQL's 65,535 bound parameters per statement.
pub(crate) const MAX_BATCH: usize = 256;

/// A case waiting for the group commit.
pub(crate) struct PendingInsert {
    pub(crate) case: CaseRecord,
    /// SHA-256 of the case's answer, its key in `answers`.
    pub(crate) answer_hash: Vec<u8>,
    pub(crate) opened: CaseEvent,
    pub(crate) reply: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
}

impl PendingInsert {
    pub(crate) fn new(
        case: CaseRecord,
        opened: CaseEvent,
        reply: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
    ) -> Self {
        use sha2::Digest as _;
        PendingInsert {
            answer_hash: sha2::Sha256::digest(case.answer_json.as_bytes()).to_vec(),
            case,
            opened,
            reply,
        }
    }
}

/// Implements [`crate::Store`] for a type with `pool` (reads) and `writer` (writes) fields
/// holding sqlx pools of one database.
macro_rules! impl_store {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl $crate::Store for $ty {
            async fn count_accounts(&self) -> Result<i64, $crate::StoreError> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n)
            }

            async fn create_account(
                &self,
                a: &$crate::NewAccount,
            ) -> Result<$crate::Account, $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                let account = insert_account(&mut tx, a).await?;
                tx.commit().await?;
                Ok(account)
            }

            async fn account(&self, id: i64) -> Result<Option<$crate::Account>, $crate::StoreError> {
                let row: Option<$crate::sql::AccountRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM accounts WHERE id = $1",
                    $crate::sql::ACCOUNT_COLUMNS
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn account_by_username(
                &self,
                username: &str,
            ) -> Result<Option<$crate::Account>, $crate::StoreError> {
                let row: Option<$crate::sql::AccountRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM accounts WHERE username = $1",
                    $crate::sql::ACCOUNT_COLUMNS
                ))
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_accounts(&self) -> Result<Vec<$crate::Account>, $crate::StoreError> {
                let rows: Vec<$crate::sql::AccountRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM accounts ORDER BY id",
                    $crate::sql::ACCOUNT_COLUMNS
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn update_account(
                &self,
                id: i64,
                u: &$crate::AccountUpdate,
            ) -> Result<Option<$crate::Account>, $crate::StoreError> {
                let row: Option<$crate::sql::AccountRow> = sqlx::query_as(&format!(
                    "UPDATE accounts SET role = COALESCE($1, role), department = COALESCE($2, department), \
                     disabled = COALESCE($3, disabled), password_hash = COALESCE($4, password_hash) \
                     WHERE id = $5 RETURNING {}",
                    $crate::sql::ACCOUNT_COLUMNS
                ))
                .bind(u.role.map($crate::Role::as_str))
                .bind(&u.department)
                .bind(u.disabled)
                .bind(&u.password_hash)
                .bind(id)
                .fetch_optional(&self.writer)
                .await?;
                self.tokens.clear();
                row.map(TryInto::try_into).transpose()
            }

            async fn put_setup_token(&self, hash: &[u8], now: i64) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await?;
                sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
                    .bind(hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_first_admin(
                &self,
                hash: &[u8],
                a: &$crate::NewAccount,
            ) -> Result<Option<$crate::Account>, $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                let taken = sqlx::query("DELETE FROM setup_tokens WHERE token_hash = $1")
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let (existing,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts")
                    .fetch_one(&mut *tx)
                    .await?;
                if taken == 0 || existing > 0 {
                    return Ok(None);
                }
                let account = insert_account(&mut tx, a).await?;
                tx.commit().await?;
                Ok(Some(account))
            }

            async fn create_session(&self, s: &$crate::Session) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, account_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&s.token_hash)
                .bind(s.account_id)
                .bind(&s.csrf_token)
                .bind(s.expires_at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn session(
                &self,
                hash: &[u8],
                now: i64,
            ) -> Result<Option<($crate::Session, $crate::Account)>, $crate::StoreError> {
                // One query with its account: every request with a cookie asks this.
                let row: Option<$crate::sql::SessionAccountRow> = sqlx::query_as(&format!(
                    "SELECT s.token_hash, s.account_id, s.csrf_token, s.expires_at, {} \
                     FROM sessions s JOIN accounts a ON a.id = s.account_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2",
                    $crate::sql::JOINED_ACCOUNT_COLUMNS
                ))
                .bind(hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let account: $crate::Account = row.account.try_into()?;
                Ok((!account.disabled).then_some((row.session, account)))
            }

            async fn delete_session(&self, hash: &[u8]) -> Result<(), $crate::StoreError> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(hash)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn create_token(&self, t: &$crate::ApiToken) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO api_tokens (token_hash, account_id, label, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&t.token_hash)
                .bind(t.account_id)
                .bind(&t.label)
                .bind(t.created_at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn token(
                &self,
                hash: &[u8],
            ) -> Result<Option<($crate::ApiToken, $crate::Account)>, $crate::StoreError> {
                let asked = std::time::Instant::now();
                let generation = match self.tokens.get(hash, asked) {
                    Ok(found) => return Ok((!found.1.disabled).then_some(found)),
                    Err(generation) => generation,
                };
                // One query with its account: every request with a bearer token asks this.
                let row: Option<$crate::sql::TokenAccountRow> = sqlx::query_as(&format!(
                    "SELECT t.token_hash, t.label, t.created_at AS token_created_at, {} \
                     FROM api_tokens t JOIN accounts a ON a.id = t.account_id \
                     WHERE t.token_hash = $1",
                    $crate::sql::JOINED_ACCOUNT_COLUMNS
                ))
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let token = $crate::ApiToken {
                    token_hash: row.token_hash,
                    account_id: row.account.id,
                    label: row.label,
                    created_at: row.token_created_at,
                };
                let account: $crate::Account = row.account.try_into()?;
                let found = (token, account);
                self.tokens.put(generation, &found, asked);
                Ok((!found.1.disabled).then_some(found))
            }

            async fn insert_case(
                &self,
                c: &$crate::CaseRecord,
                opened: &$crate::CaseEvent,
            ) -> Result<(), $crate::StoreError> {
                self.insert_case_durably(c, opened).await
            }

            async fn case(&self, id: &str) -> Result<Option<$crate::CaseRecord>, $crate::StoreError> {
                let row: Option<$crate::sql::CaseRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM cases WHERE id = $1",
                    $crate::sql::CASE_COLUMNS
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn list_cases(
                &self,
                f: &$crate::CaseFilter,
            ) -> Result<Vec<$crate::CaseRecord>, $crate::StoreError> {
                let rows: Vec<$crate::sql::CaseRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM cases WHERE ($1 IS NULL OR created_by = $1) \
                     AND ($2 IS NULL OR department = $2) AND ($3 IS NULL OR status = $3) \
                     AND ($4 IS NULL OR channel = $4) AND ($5 IS NULL OR outcome = $5) \
                     ORDER BY created_at DESC, id LIMIT $6",
                    $crate::sql::CASE_COLUMNS
                ))
                .bind(f.created_by)
                .bind(&f.department)
                .bind(&f.status)
                .bind(&f.channel)
                .bind(&f.outcome)
                .bind(f.limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn change_case(
                &self,
                id: &str,
                ch: &$crate::CaseChange,
            ) -> Result<$crate::CaseRecord, $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                let row: Option<$crate::sql::CaseRow> = sqlx::query_as(&format!(
                    "UPDATE cases SET status = $1, action = COALESCE($2, action), \
                     signed_off_by = COALESCE($3, signed_off_by), resolution = COALESCE($4, resolution), \
                     closed_at = COALESCE(closed_at, $7), retention_due = COALESCE($8, retention_due), \
                     version = version + 1 WHERE id = $5 AND version = $6 RETURNING {}",
                    $crate::sql::CASE_COLUMNS
                ))
                .bind(&ch.status)
                .bind(&ch.action)
                .bind(ch.signed_off_by)
                .bind(&ch.resolution)
                .bind(id)
                .bind(ch.expected_version)
                .bind(ch.closed_at)
                .bind(ch.retention_due)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Err($crate::StoreError::Stale);
                };
                append_event(&mut tx, &ch.event).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn retention_due(
                &self,
                now: i64,
                limit: i64,
            ) -> Result<Vec<$crate::CaseRecord>, $crate::StoreError> {
                let rows: Vec<$crate::sql::CaseRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM cases WHERE retention_due IS NOT NULL AND retention_due <= $1 \
                     ORDER BY retention_due, id LIMIT $2",
                    $crate::sql::CASE_COLUMNS
                ))
                .bind(now)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn purge_case(
                &self,
                id: &str,
                p: &$crate::Purge,
            ) -> Result<$crate::CaseRecord, $crate::StoreError> {
                let at = p.event.at;
                let mut tx = self.writer.begin().await?;
                let bumped = sqlx::query(
                    "UPDATE cases SET version = version + 1, retention_due = $1 WHERE id = $2 AND version = $3",
                )
                .bind(p.next_due)
                .bind(id)
                .bind(p.expected_version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if bumped == 0 {
                    return Err($crate::StoreError::Stale);
                }
                // The bytes are overwritten, not only unlinked: with SQLite's secure_delete
                // the freed pages are zeroed too.
                let empty: &[u8] = &[];
                if p.documents || p.details {
                    sqlx::query(
                        "UPDATE case_documents SET content = $1, purged_at = $2 WHERE case_id = $3 AND purged_at IS NULL",
                    )
                    .bind(empty)
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    // What the reader found on the papers goes with them.
                    sqlx::query("UPDATE case_events SET personal = NULL WHERE case_id = $1 AND kind = 'document'")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE cases SET documents_purged_at = COALESCE(documents_purged_at, $1) WHERE id = $2")
                        .bind(at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                if p.details {
                    sqlx::query("UPDATE cases SET personal = $1, details_purged_at = COALESCE(details_purged_at, $2) WHERE id = $3")
                        .bind(empty)
                        .bind(at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE case_events SET personal = NULL WHERE case_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                append_event(&mut tx, &p.event).await?;
                let row: $crate::sql::CaseRow = sqlx::query_as(&format!(
                    "SELECT {} FROM cases WHERE id = $1",
                    $crate::sql::CASE_COLUMNS
                ))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn case_events(&self, id: &str) -> Result<Vec<$crate::CaseEvent>, $crate::StoreError> {
                let rows: Vec<$crate::sql::EventRow> = sqlx::query_as(
                    "SELECT case_id, seq, kind, ledger_index, actor, at, personal FROM case_events \
                     WHERE case_id = $1 ORDER BY seq",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn record_access(&self, e: &$crate::AccessEntry) -> Result<(), $crate::StoreError> {
                sqlx::query("INSERT INTO access_log (account_id, case_id, at, what) VALUES ($1, $2, $3, $4)")
                    .bind(e.account_id)
                    .bind(&e.case_id)
                    .bind(e.at)
                    .bind(&e.what)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn access_log(
                &self,
                case_id: Option<&str>,
                limit: i64,
            ) -> Result<Vec<$crate::AccessEntry>, $crate::StoreError> {
                let rows: Vec<$crate::sql::AccessRow> = sqlx::query_as(
                    "SELECT id, account_id, case_id, at, what FROM access_log \
                     WHERE ($1 IS NULL OR case_id = $1) ORDER BY id DESC LIMIT $2",
                )
                .bind(case_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn setting(&self, key: &str) -> Result<Option<String>, $crate::StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|(v,)| v))
            }

            async fn settings_with_prefix(
                &self,
                prefix: &str,
            ) -> Result<Vec<(String, String)>, $crate::StoreError> {
                // substr counts characters in both databases; so does chars().count().
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT key, value FROM settings WHERE substr(key, 1, CAST($2 AS INTEGER)) = $1 ORDER BY key",
                )
                .bind(prefix)
                .bind(prefix.chars().count() as i64)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows)
            }

            async fn put_setting(&self, key: &str, value: &str, now: i64) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(value)
                .bind(now)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn grant_access(&self, g: &$crate::AccessGrant) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO access_grants (account_id, case_id, granted_by, granted_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, case_id) DO UPDATE SET \
                     granted_by = excluded.granted_by, granted_at = excluded.granted_at, expires_at = excluded.expires_at",
                )
                .bind(g.account_id)
                .bind(&g.case_id)
                .bind(g.granted_by)
                .bind(g.granted_at)
                .bind(g.expires_at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn has_grant(&self, account: i64, case: &str, now: i64) -> Result<bool, $crate::StoreError> {
                let row: Option<(i64,)> = sqlx::query_as(
                    "SELECT account_id FROM access_grants WHERE account_id = $1 AND case_id = $2 AND expires_at > $3",
                )
                .bind(account)
                .bind(case)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.is_some())
            }

            async fn ping(&self) -> Result<(), $crate::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn add_document(
                &self,
                d: &$crate::DocumentRecord,
                content: &[u8],
                e: &$crate::CaseEvent,
            ) -> Result<Option<$crate::DocumentRecord>, $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                // Taking the case row first serialises uploads to one case (PostgreSQL row
                // lock; SQLite has one writer), so the numbers below cannot collide.
                let bumped = sqlx::query("UPDATE cases SET version = version + 1 WHERE id = $1")
                    .bind(&d.case_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if bumped == 0 {
                    return Ok(None);
                }
                append_event(&mut tx, e).await?;
                let row: $crate::sql::DocumentRow = sqlx::query_as(&format!(
                    "INSERT INTO case_documents ({}, content) \
                     SELECT $1, COALESCE(MAX(n) + 1, 1), $2, $3, $4, $5, $6, $7, $8, $9, CAST(NULL AS BIGINT), $10 \
                     FROM case_documents WHERE case_id = $1 RETURNING {}",
                    $crate::sql::DOCUMENT_COLUMNS,
                    $crate::sql::DOCUMENT_COLUMNS
                ))
                .bind(&d.case_id)
                .bind(d.ledger_index)
                .bind(d.uploaded_by)
                .bind(d.at)
                .bind(d.size)
                .bind(&d.format)
                .bind(&d.kind)
                .bind(&d.confidence)
                .bind(d.uncertain)
                .bind(content)
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::sql::conflict_or)?;
                tx.commit().await?;
                Ok(Some(row.into()))
            }

            async fn case_documents(
                &self,
                case_id: &str,
            ) -> Result<Vec<$crate::DocumentRecord>, $crate::StoreError> {
                let rows: Vec<$crate::sql::DocumentRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM case_documents WHERE case_id = $1 ORDER BY n",
                    $crate::sql::DOCUMENT_COLUMNS
                ))
                .bind(case_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn document_content(
                &self,
                case_id: &str,
                n: i64,
            ) -> Result<Option<($crate::DocumentRecord, Vec<u8>)>, $crate::StoreError> {
                let row: Option<$crate::sql::DocumentContentRow> = sqlx::query_as(&format!(
                    "SELECT {}, content FROM case_documents WHERE case_id = $1 AND n = $2",
                    $crate::sql::DOCUMENT_COLUMNS
                ))
                .bind(case_id)
                .bind(n)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|r| (r.document.into(), r.content)))
            }

            async fn sealed_values(
                &self,
                column: $crate::SealedColumn,
                prefix: &[u8],
                after: Option<&$crate::SealedRef>,
                limit: i64,
            ) -> Result<Vec<$crate::SealedValue>, $crate::StoreError> {
                let (table, item, ledger, value, cursor) = $crate::sql::sealed_column(column);
                let (after_case, after_item) = after.map_or(("", -1), |a| (a.case_id.as_str(), a.item));
                // Row order by primary key, so a resumed listing neither skips nor repeats.
                let rows: Vec<(String, i64, i64, Vec<u8>)> = sqlx::query_as(&format!(
                    "SELECT {case}, {item}, {ledger}, {value} FROM {table} \
                     WHERE {value} IS NOT NULL AND length({value}) > 0 \
                     AND substr({value}, 1, {len}) <> $1 AND {cursor} \
                     ORDER BY {case}, {item} LIMIT $4",
                    case = if table == "cases" { "id" } else { "case_id" },
                    len = prefix.len().max(1),
                ))
                .bind(prefix)
                .bind(after_case)
                .bind(after_item)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(case_id, item, ledger_index, sealed)| $crate::SealedValue {
                        at: $crate::SealedRef { column, case_id, item },
                        ledger_index,
                        sealed,
                    })
                    .collect())
            }

            async fn reseal(&self, values: &[$crate::Resealed]) -> Result<u64, $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                let mut replaced = 0;
                for v in values {
                    let (table, item, _, value, _) = $crate::sql::sealed_column(v.at.column);
                    let sql = if table == "cases" {
                        format!("UPDATE cases SET {value} = $1 WHERE id = $2 AND {value} = $3 AND $4 = 0")
                    } else {
                        format!(
                            "UPDATE {table} SET {value} = $1 WHERE case_id = $2 AND {value} = $3 AND {item} = $4"
                        )
                    };
                    replaced += sqlx::query(&sql)
                        .bind(&v.new)
                        .bind(&v.at.case_id)
                        .bind(&v.old)
                        .bind(v.at.item)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                Ok(replaced)
            }

            async fn count_sealed_without(&self, prefix: &[u8]) -> Result<i64, $crate::StoreError> {
                let mut total = 0;
                for column in $crate::SealedColumn::ALL {
                    let (table, _, _, value, _) = $crate::sql::sealed_column(column);
                    let (n,): (i64,) = sqlx::query_as(&format!(
                        "SELECT COUNT(*) FROM {table} WHERE {value} IS NOT NULL \
                         AND length({value}) > 0 AND substr({value}, 1, {len}) <> $1",
                        len = prefix.len().max(1),
                    ))
                    .bind(prefix)
                    .fetch_one(&self.pool)
                    .await?;
                    total += n;
                }
                Ok(total)
            }

            async fn account_by_oidc(
                &self,
                issuer: &str,
                subject: &str,
            ) -> Result<Option<$crate::Account>, $crate::StoreError> {
                let row: Option<$crate::sql::AccountRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM accounts WHERE id = \
                     (SELECT account_id FROM oidc_links WHERE issuer = $1 AND subject = $2)",
                    $crate::sql::ACCOUNT_COLUMNS
                ))
                .bind(issuer)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn put_oidc_pending(
                &self,
                p: &$crate::OidcPending,
                expired_before: i64,
                max: i64,
            ) -> Result<bool, $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                sqlx::query("DELETE FROM oidc_pending WHERE started_at < $1")
                    .bind(expired_before)
                    .execute(&mut *tx)
                    .await?;
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM oidc_pending")
                    .fetch_one(&mut *tx)
                    .await?;
                if n >= max {
                    tx.commit().await?;
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO oidc_pending (state_hash, browser_hash, verifier, nonce, started_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&p.state_hash)
                .bind(&p.browser_hash)
                .bind(&p.verifier)
                .bind(&p.nonce)
                .bind(p.started_at)
                .execute(&mut *tx)
                .await
                .map_err($crate::sql::conflict_or)?;
                tx.commit().await?;
                Ok(true)
            }

            async fn take_oidc_pending(
                &self,
                state_hash: &[u8],
                expired_before: i64,
            ) -> Result<Option<$crate::OidcPending>, $crate::StoreError> {
                let row: Option<$crate::OidcPending> = sqlx::query_as(
                    "DELETE FROM oidc_pending WHERE state_hash = $1 \
                     RETURNING state_hash, browser_hash, verifier, nonce, started_at",
                )
                .bind(state_hash)
                .fetch_optional(&self.writer)
                .await?;
                Ok(row.filter(|p| p.started_at >= expired_before))
            }

            async fn create_oidc_account(
                &self,
                issuer: &str,
                subject: &str,
                a: &$crate::NewAccount,
            ) -> Result<$crate::Account, $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                let account = insert_account(&mut tx, a).await?;
                sqlx::query(
                    "INSERT INTO oidc_links (issuer, subject, account_id, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(issuer)
                .bind(subject)
                .bind(account.id)
                .bind(a.created_at)
                .execute(&mut *tx)
                .await
                .map_err($crate::sql::conflict_or)?;
                tx.commit().await?;
                Ok(account)
            }
        }
    };
}
pub(crate) use impl_store;

/// Table, item column, ledger-index column, value column and keyset condition (`$2` case,
/// `$3` item) of a sealed column. Constants only: nothing here comes from input.
pub(crate) fn sealed_column(
    column: crate::SealedColumn,
) -> (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
) {
    match column {
        crate::SealedColumn::CasePersonal => (
            "cases",
            "CAST(0 AS BIGINT)",
            "CAST(0 AS BIGINT)",
            "personal",
            "(id > $2 OR (id = $2 AND $3 < 0))",
        ),
        crate::SealedColumn::EventPersonal => (
            "case_events",
            "seq",
            "ledger_index",
            "personal",
            "(case_id > $2 OR (case_id = $2 AND seq > $3))",
        ),
        crate::SealedColumn::DocumentContent => (
            "case_documents",
            "n",
            "ledger_index",
            "content",
            "(case_id > $2 OR (case_id = $2 AND n > $3))",
        ),
    }
}

/// The row writers both stores use inside their transactions; expanded in each
/// store's module, where `DB` names its database.
macro_rules! case_writers {
    () => {
/// Starts the task that commits queued case insertions in groups; returns its queue.
fn start_group_commit(writer: sqlx::Pool<DB>) -> tokio::sync::mpsc::Sender<$crate::sql::PendingInsert> {
    let (inserts, queue) = tokio::sync::mpsc::channel($crate::sql::MAX_BATCH * 4);
    tokio::spawn(insert_batches(writer, queue));
    inserts
}

/// Queues a case for the group commit and waits until it is durable (or refused).
async fn insert_queued(
    inserts: &tokio::sync::mpsc::Sender<$crate::sql::PendingInsert>,
    case: &$crate::model::CaseRecord,
    opened: &$crate::model::CaseEvent,
) -> Result<(), $crate::StoreError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let pending = $crate::sql::PendingInsert::new(case.clone(), opened.clone(), reply);
    let closed = || $crate::StoreError::Batch("the store is shutting down".into());
    inserts.send(pending).await.map_err(|_| closed())?;
    answer.await.map_err(|_| closed())?
}

async fn insert_batches(
    writer: sqlx::Pool<DB>,
    mut queue: tokio::sync::mpsc::Receiver<$crate::sql::PendingInsert>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < $crate::sql::MAX_BATCH {
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
                    let _ = p.reply.send(Err($crate::StoreError::Batch(message.clone())));
                }
            }
        }
    }
}

/// One commit (one sync) for the batch. First every row at once (`insert_all`, each
/// store's own); if that is refused (a duplicate id), each case again in its own
/// savepoint, so one refused case does not sink the others.
async fn commit_batch(
    writer: &sqlx::Pool<DB>,
    batch: &[$crate::sql::PendingInsert],
) -> Result<Vec<Result<(), $crate::StoreError>>, $crate::StoreError> {
    if insert_all(writer, batch).await.is_ok() {
        return Ok(batch.iter().map(|_| Ok(())).collect());
    }
    let mut tx = writer.begin().await?;
    let mut results = Vec::with_capacity(batch.len());
    for p in batch {
        let mut savepoint = sqlx::Acquire::begin(&mut tx).await?;
        match insert_many(&mut savepoint, std::slice::from_ref(p)).await {
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

/// Inserts the answers, cases and opening events of `batch`, one statement for each table.
async fn insert_many(
    tx: &mut sqlx::Transaction<'_, DB>,
    batch: &[$crate::sql::PendingInsert],
) -> Result<(), $crate::StoreError> {
    let mut answers = sqlx::QueryBuilder::<DB>::new("");
    push_answers(&mut answers, batch);
    answers.build().execute(&mut **tx).await?;
    let mut cases = sqlx::QueryBuilder::<DB>::new("");
    push_cases(&mut cases, batch);
    cases.build().execute(&mut **tx).await.map_err($crate::sql::conflict_or)?;
    let mut events = sqlx::QueryBuilder::<DB>::new("");
    push_events(&mut events, batch);
    events.build().execute(&mut **tx).await?;
    Ok(())
}

/// `INSERT INTO answers ... VALUES` for the distinct answers of `batch`, each skipped if
/// already stored. Answers are never changed or deleted (they hold no personal data, and
/// retention purges only what does), so one stored under a hash stays its answer.
fn push_answers<'a>(q: &mut sqlx::QueryBuilder<'a, DB>, batch: &'a [$crate::sql::PendingInsert]) {
    let mut distinct: Vec<&'a $crate::sql::PendingInsert> = Vec::with_capacity(1);
    for p in batch {
        if !distinct.iter().any(|d| d.answer_hash == p.answer_hash) {
            distinct.push(p);
        }
    }
    q.push("INSERT INTO answers (hash, answer_json) ");
    q.push_values(distinct, |mut row, p| {
        row.push_bind(&p.answer_hash).push_bind(&p.case.answer_json);
    });
    q.push(" ON CONFLICT (hash) DO NOTHING");
}

/// `INSERT INTO cases ... VALUES` for the cases of `batch`.
fn push_cases<'a>(q: &mut sqlx::QueryBuilder<'a, DB>, batch: &'a [$crate::sql::PendingInsert]) {
    q.push(format!("INSERT INTO cases ({}) ", $crate::sql::CASE_INSERT_COLUMNS));
    q.push_values(batch, |mut row, p| {
        let c = &p.case;
        row.push_bind(&c.id)
            .push_bind(c.created_at)
            .push_bind(c.created_by)
            .push_bind(&c.department)
            .push_bind(&c.channel)
            .push_bind(&c.status)
            .push_bind(&c.outcome)
            .push_bind(&c.rules_hash)
            .push_bind("")
            .push_bind(&p.answer_hash)
            .push_bind(c.requires_signoff)
            .push_bind(&c.personal)
            .push_bind(&c.action)
            .push_bind(c.signed_off_by)
            .push_bind(&c.resolution)
            .push_bind(c.version)
            .push_bind(&c.retention.schedule)
            .push_bind(c.retention.closed_at)
            .push_bind(c.retention.retention_due)
            .push_bind(c.retention.documents_purged_at)
            .push_bind(c.retention.details_purged_at);
    });
}

/// `INSERT INTO case_events ... VALUES` for the opening events of `batch`.
fn push_events<'a>(q: &mut sqlx::QueryBuilder<'a, DB>, batch: &'a [$crate::sql::PendingInsert]) {
    q.push("INSERT INTO case_events (case_id, seq, kind, ledger_index, actor, at, personal) ");
    q.push_values(batch, |mut row, p| {
        let e = &p.opened;
        row.push_bind(&e.case_id)
            .push_bind(0_i64)
            .push_bind(&e.kind)
            .push_bind(e.ledger_index)
            .push_bind(e.actor)
            .push_bind(e.at)
            .push_bind(&e.personal);
    });
}

/// Inserts an account; [`StoreError::Conflict`] if the username is taken.
async fn insert_account(
    tx: &mut sqlx::Transaction<'_, DB>,
    a: &$crate::model::NewAccount,
) -> Result<$crate::model::Account, $crate::StoreError> {
    let row: $crate::sql::AccountRow = sqlx::query_as(&format!(
        "INSERT INTO accounts (username, role, department, password_hash, disabled, created_at) \
         VALUES ($1, $2, $3, $4, FALSE, $5) RETURNING {}",
        $crate::sql::ACCOUNT_COLUMNS
    ))
    .bind(&a.username)
    .bind(a.role.as_str())
    .bind(&a.department)
    .bind(&a.password_hash)
    .bind(a.created_at)
    .fetch_one(&mut **tx)
    .await
    .map_err($crate::sql::conflict_or)?;
    row.try_into()
}

/// Appends an event after the case's last (the caller holds the case row, so the
/// number cannot collide).
async fn append_event(
    tx: &mut sqlx::Transaction<'_, DB>,
    e: &$crate::model::CaseEvent,
) -> Result<(), $crate::StoreError> {
    let (seq,): (i64,) =
        sqlx::query_as("SELECT COALESCE(MAX(seq) + 1, 0) FROM case_events WHERE case_id = $1")
            .bind(&e.case_id)
            .fetch_one(&mut **tx)
            .await?;
    insert_event(tx, e, seq).await
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'_, DB>,
    e: &$crate::model::CaseEvent,
    seq: i64,
) -> Result<(), $crate::StoreError> {
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
    };
}
pub(crate) use case_writers;
