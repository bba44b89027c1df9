//! citygate-store: the service's storage behind one trait, [`Store`], with an SQLite
//! implementation (the default, one file in the data directory) and a PostgreSQL one (for
//! several instances). Both run the same embedded migrations' schema and the same SQL, and
//! one test suite runs against each.
//!
//! It keeps accounts, sessions, API tokens, cases and their events, and the access log. It
//! does not know HTTP, does not decide anything, and never sees personal data in clear: case
//! fields that hold it arrive sealed by the server. It does not write the ledger: the
//! server logs to the ledger first and hands the ledger index to the store.

mod model;
mod postgres;
mod sql;
mod sqlite;
mod tokens;

pub use model::DocumentRecord;
pub use model::{
    AccessEntry, AccessGrant, Account, AccountUpdate, ApiToken, CaseChange, CaseEvent, CaseFilter,
    CaseRecord, CaseRetention, NewAccount, Purge, Role, Session,
};
pub use model::{OidcPending, Resealed, SealedColumn, SealedRef, SealedValue};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use tokens::TOKEN_TTL;

/// Errors from a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed (connection, I/O, constraint other than uniqueness).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique value (a username) is taken.
    #[error("already exists")]
    Conflict,
    /// The case changed since it was read; read it again and retry.
    #[error("the case changed since it was read")]
    Stale,
    /// The batch holding this write failed to commit; nothing of it was stored.
    #[error("the write failed and was not stored: {0}")]
    Batch(String),
    /// A PostgreSQL schema name outside `[a-z0-9_]+`.
    #[error("schema names are 1 or more characters from a-z 0-9 _")]
    BadSchema,
    /// A stored value is not one the store writes.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// The service's storage. Every method is one transaction.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Number of accounts (zero on first start).
    async fn count_accounts(&self) -> Result<i64, StoreError>;
    /// Creates an account; [`StoreError::Conflict`] if the username is taken.
    async fn create_account(&self, account: &NewAccount) -> Result<Account, StoreError>;
    /// The account with this id.
    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError>;
    /// The account with this username.
    async fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError>;
    /// All accounts, by id.
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// Updates an account; returns it, or `None` if there is no such account.
    async fn update_account(
        &self,
        id: i64,
        update: &AccountUpdate,
    ) -> Result<Option<Account>, StoreError>;

    /// Replaces any one-time setup token with this one (stored hashed).
    async fn put_setup_token(&self, token_hash: &[u8], now: i64) -> Result<(), StoreError>;
    /// Creates the first administrator if `token_hash` is a live setup token and no account
    /// exists yet, consuming the token; `None` otherwise.
    async fn create_first_admin(
        &self,
        token_hash: &[u8],
        account: &NewAccount,
    ) -> Result<Option<Account>, StoreError>;

    /// Stores a session.
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// A live session and its account (not expired at `now`, account not disabled).
    async fn session(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<(Session, Account)>, StoreError>;
    /// Ends a session.
    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;

    /// Stores an API token.
    async fn create_token(&self, token: &ApiToken) -> Result<(), StoreError>;
    /// An API token and its account (account not disabled).
    async fn token(&self, token_hash: &[u8]) -> Result<Option<(ApiToken, Account)>, StoreError>;

    /// Stores a new case with its opening event (`seq` 0) in one transaction.
    async fn insert_case(&self, case: &CaseRecord, opened: &CaseEvent) -> Result<(), StoreError>;
    /// The case with this id.
    async fn case(&self, id: &str) -> Result<Option<CaseRecord>, StoreError>;
    /// Cases matching `filter`, newest first.
    async fn list_cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRecord>, StoreError>;
    /// Applies `change` and its event if the case is still at the expected version;
    /// [`StoreError::Stale`] otherwise. Returns the updated case.
    async fn change_case(&self, id: &str, change: &CaseChange) -> Result<CaseRecord, StoreError>;
    /// Cases whose retention purge is due at `now`, earliest due first, up to `limit`.
    async fn retention_due(&self, now: i64, limit: i64) -> Result<Vec<CaseRecord>, StoreError>;
    /// Destroys what `purge` names and stores its event, in one transaction, if the case is
    /// still at the expected version; [`StoreError::Stale`] otherwise. Returns the case.
    async fn purge_case(&self, id: &str, purge: &Purge) -> Result<CaseRecord, StoreError>;
    /// A case's events, in order.
    async fn case_events(&self, id: &str) -> Result<Vec<CaseEvent>, StoreError>;

    /// Records a read of personal data.
    async fn record_access(&self, entry: &AccessEntry) -> Result<(), StoreError>;
    /// The access log, newest first, optionally for one case.
    async fn access_log(
        &self,
        case_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AccessEntry>, StoreError>;

    /// A setting (agency settings, letter templates, account preferences), if set.
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Every setting whose key starts with `prefix`, by key (one query for a group).
    async fn settings_with_prefix(&self, prefix: &str)
        -> Result<Vec<(String, String)>, StoreError>;
    /// Sets a setting, replacing any earlier value.
    async fn put_setting(&self, key: &str, value: &str, now: i64) -> Result<(), StoreError>;

    /// Grants (or renews) an auditor's access to a case's personal data.
    async fn grant_access(&self, grant: &AccessGrant) -> Result<(), StoreError>;
    /// Whether `account` holds a grant for `case` that is live at `now`.
    async fn has_grant(&self, account: i64, case: &str, now: i64) -> Result<bool, StoreError>;

    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Stores a document of a case with its event (`seq` assigned by the store) and bumps
    /// the case's version, in one transaction; `n` is assigned by the store and the stored
    /// record returned. `content` is sealed by the caller. `None` if there is no such case.
    async fn add_document(
        &self,
        document: &DocumentRecord,
        content: &[u8],
        event: &CaseEvent,
    ) -> Result<Option<DocumentRecord>, StoreError>;
    /// A case's documents, by `n` (without their content).
    async fn case_documents(&self, case_id: &str) -> Result<Vec<DocumentRecord>, StoreError>;
    /// Document `n` of a case and its sealed content.
    async fn document_content(
        &self,
        case_id: &str,
        n: i64,
    ) -> Result<Option<(DocumentRecord, Vec<u8>)>, StoreError>;

    /// Up to `limit` values of `column` that do not start with `prefix` (the sealed layout's
    /// version and key id: values sealed under another key), in row order after `after`
    /// (which must name the same column), with what binds each to its row. For key rotation.
    async fn sealed_values(
        &self,
        column: SealedColumn,
        prefix: &[u8],
        after: Option<&SealedRef>,
        limit: i64,
    ) -> Result<Vec<SealedValue>, StoreError>;
    /// Replaces each value whose stored bytes are still its `old` with its `new`, in one
    /// transaction; returns how many were replaced (a value changed meanwhile is left).
    async fn reseal(&self, values: &[Resealed]) -> Result<u64, StoreError>;
    /// How many sealed values (every column) do not start with `prefix`.
    async fn count_sealed_without(&self, prefix: &[u8]) -> Result<i64, StoreError>;

    /// The account linked to this OpenID Connect identity (issuer and subject), if any.
    async fn account_by_oidc(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Account>, StoreError>;
    /// Stores a sign-on flow in progress, first dropping those started before
    /// `expired_before`; `false` (nothing stored) if `max` flows are already pending.
    async fn put_oidc_pending(
        &self,
        pending: &OidcPending,
        expired_before: i64,
        max: i64,
    ) -> Result<bool, StoreError>;
    /// Takes (deletes and returns, so it is used once) the flow with this state hash, if it
    /// started at or after `expired_before`.
    async fn take_oidc_pending(
        &self,
        state_hash: &[u8],
        expired_before: i64,
    ) -> Result<Option<OidcPending>, StoreError>;
    /// Creates an account linked to this OpenID Connect identity, in one transaction;
    /// [`StoreError::Conflict`] if the username or the identity is taken.
    async fn create_oidc_account(
        &self,
        issuer: &str,
        subject: &str,
        account: &NewAccount,
    ) -> Result<Account, StoreError>;
}
