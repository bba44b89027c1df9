//! The records the store keeps. Fields named `personal` hold ciphertext sealed by the
//! server: the store never sees residents' personal data in clear.

use serde::{Deserialize, Serialize};

/// What an account may do. One role per account (least privilege: a person who needs two
/// roles gets two accounts, so every action says in which capacity it was taken).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Opens cases and sees their own.
    Desk,
    /// Sees their department's cases and signs off.
    Supervisor,
    /// Works the referral queue and resolves referred cases.
    Counsel,
    /// Public-records requests and releases.
    Records,
    /// Read-only: cases without personal data, the access log.
    Auditor,
    /// Accounts and settings; no case data.
    Admin,
}

impl Role {
    /// Every role, for help texts and tests.
    pub const ALL: [Role; 6] = [
        Role::Desk,
        Role::Supervisor,
        Role::Counsel,
        Role::Records,
        Role::Auditor,
        Role::Admin,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Desk => "desk",
            Role::Supervisor => "supervisor",
            Role::Counsel => "counsel",
            Role::Records => "records",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Store-assigned id.
    pub id: i64,
    /// Login name, unique.
    pub username: String,
    /// The account's role.
    pub role: Role,
    /// The department whose cases a supervisor sees.
    pub department: String,
    /// Argon2id PHC string; `None` for token-only (integration) accounts.
    pub password_hash: Option<String>,
    /// A disabled account cannot log in or use its tokens.
    pub disabled: bool,
    /// UNIX seconds.
    pub created_at: i64,
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Department.
    pub department: String,
    /// Argon2id PHC string, if the account logs in with a password.
    pub password_hash: Option<String>,
    /// UNIX seconds.
    pub created_at: i64,
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    /// New role.
    pub role: Option<Role>,
    /// New department.
    pub department: Option<String>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// New password hash.
    pub password_hash: Option<String>,
}

/// A login session. Only the SHA-256 of the cookie value is stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    /// SHA-256 of the session cookie.
    pub token_hash: Vec<u8>,
    /// Whose session.
    pub account_id: i64,
    /// The CSRF token state-changing requests must echo.
    pub csrf_token: String,
    /// UNIX seconds.
    pub expires_at: i64,
}

/// An API token for integrations. Only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiToken {
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// The account it acts as.
    pub account_id: i64,
    /// What it is for.
    pub label: String,
    /// UNIX seconds.
    pub created_at: i64,
}

/// A case: one request received, and what was done about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// Random public id.
    pub id: String,
    /// UNIX seconds.
    pub created_at: i64,
    /// The account that opened it.
    pub created_by: i64,
    /// The opener's department.
    pub department: String,
    /// How the request arrived.
    pub channel: String,
    /// Where the case stands.
    pub status: String,
    /// The engine's outcome.
    pub outcome: String,
    /// Hash of the rule packs that answered.
    pub rules_hash: String,
    /// The engine's answer, as given (no personal data: provisions, facts, actions).
    pub answer_json: String,
    /// Whether a supervisor must sign off before action.
    pub requires_signoff: bool,
    /// Sealed personal data (requester, subject, the request, notes).
    pub personal: Vec<u8>,
    /// The action taken, once taken.
    pub action: Option<String>,
    /// The supervisor who signed off.
    pub signed_off_by: Option<i64>,
    /// Counsel's resolution of a referred case.
    pub resolution: Option<String>,
    /// Bumped by every change; changes name the version they expect.
    pub version: i64,
    /// What the retention rules let the city keep, and what was purged.
    pub retention: CaseRetention,
}

/// A case's retention: the limits that covered it when it opened and where their purges stand.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseRetention {
    /// The limits, as JSON (rule ids, what they limit, days after close): no personal data.
    #[sqlx(rename = "retention")]
    pub schedule: String,
    /// UNIX seconds the case closed.
    pub closed_at: Option<i64>,
    /// UNIX seconds the next purge is due; `None` when none is pending.
    pub retention_due: Option<i64>,
    /// When the case's documents were destroyed.
    pub documents_purged_at: Option<i64>,
    /// When the case's personal data (documents included) was destroyed.
    pub details_purged_at: Option<i64>,
}

/// What a retention run destroys in one case, applied only if the case is still at
/// `expected_version`.
#[derive(Debug, Clone)]
pub struct Purge {
    /// The version read before deciding the purge was due.
    pub expected_version: i64,
    /// Destroy the documents' bytes (their records stay: what the reader found, when).
    pub documents: bool,
    /// Destroy the personal data: the sealed case fields, the events' details and the
    /// documents' bytes.
    pub details: bool,
    /// When the next purge is due, if one remains.
    pub next_due: Option<i64>,
    /// The event row (its `seq` is assigned by the store).
    pub event: CaseEvent,
}

/// One state change of a case, with the ledger entry logged for it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEvent {
    /// The case.
    pub case_id: String,
    /// 0 for the opening, then 1, 2, ...
    pub seq: i64,
    /// What happened (`opened`, `signed_off`, `resolved`, `action`, `disclosure`).
    pub kind: String,
    /// The ledger index of the event, obtained before this row was written.
    pub ledger_index: i64,
    /// Who did it.
    pub actor: i64,
    /// UNIX seconds.
    pub at: i64,
    /// Sealed personal details (notes, recipient), if any.
    pub personal: Option<Vec<u8>>,
}

/// A change to a case, applied only if the case is still at `expected_version`.
#[derive(Debug, Clone)]
pub struct CaseChange {
    /// The version read before deciding the change was allowed.
    pub expected_version: i64,
    /// New status.
    pub status: String,
    /// Action taken, if this change records one.
    pub action: Option<String>,
    /// Sign-off, if this change records one.
    pub signed_off_by: Option<i64>,
    /// Counsel's resolution, if this change records one.
    pub resolution: Option<String>,
    /// When the case closed, if this change closes it (kept from the first close).
    pub closed_at: Option<i64>,
    /// When the first retention purge falls due, if this change closes a case with limits.
    pub retention_due: Option<i64>,
    /// The event row (its `seq` is assigned by the store).
    pub event: CaseEvent,
}

/// Which cases a listing returns; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Opened by this account.
    pub created_by: Option<i64>,
    /// In this department.
    pub department: Option<String>,
    /// With this status.
    pub status: Option<String>,
    /// Arrived by this channel.
    pub channel: Option<String>,
    /// With this engine outcome.
    pub outcome: Option<String>,
    /// At most this many, newest first.
    pub limit: i64,
}

/// An auditor's time-limited right to see one case's personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessGrant {
    /// The auditor.
    pub account_id: i64,
    /// The case.
    pub case_id: String,
    /// The administrator who granted it.
    pub granted_by: i64,
    /// UNIX seconds.
    pub granted_at: i64,
    /// UNIX seconds; the grant is void from then on.
    pub expires_at: i64,
}

/// A read of a case's personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessEntry {
    /// Store-assigned id (0 before insertion).
    pub id: i64,
    /// Who read.
    pub account_id: i64,
    /// Which case.
    pub case_id: String,
    /// UNIX seconds.
    pub at: i64,
    /// What was read (e.g. `case`, `events`).
    pub what: String,
}

/// A document presented with a case: what the reader made of it. The bytes are stored
/// apart, sealed by the server (see [`crate::Store::document_content`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentRecord {
    /// The case.
    pub case_id: String,
    /// 1, 2, ... within the case; assigned by the store.
    pub n: i64,
    /// The ledger index of the upload event, obtained before this row was written.
    pub ledger_index: i64,
    /// Who uploaded it.
    pub uploaded_by: i64,
    /// UNIX seconds.
    pub at: i64,
    /// Size of the document in bytes.
    pub size: i64,
    /// What the bytes are (`text`, `pdf`, `png`, `jpeg`, `tiff`), from the bytes themselves.
    pub format: String,
    /// The document kind the reader found (engine vocabulary), if any.
    pub kind: Option<String>,
    /// The reader's confidence (`low`, `medium`, `high`).
    pub confidence: String,
    /// The reader was unsure: the engine must refer.
    pub uncertain: bool,
    /// When its bytes were destroyed under a retention rule.
    pub purged_at: Option<i64>,
}

/// A column holding values sealed by the server (for re-sealing under a new key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SealedColumn {
    /// `cases.personal`: one per case.
    CasePersonal,
    /// `case_events.personal`: an event's personal details, where it has any.
    EventPersonal,
    /// `case_documents.content`: a document's bytes.
    DocumentContent,
}

impl SealedColumn {
    /// Every sealed column.
    pub const ALL: [SealedColumn; 3] = [
        SealedColumn::CasePersonal,
        SealedColumn::EventPersonal,
        SealedColumn::DocumentContent,
    ];

    /// A name for progress output.
    pub fn name(self) -> &'static str {
        match self {
            SealedColumn::CasePersonal => "case personal fields",
            SealedColumn::EventPersonal => "event personal details",
            SealedColumn::DocumentContent => "documents",
        }
    }
}

/// Where a sealed value lives: its column and row, in the order the store lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRef {
    /// The column.
    pub column: SealedColumn,
    /// The case.
    pub case_id: String,
    /// The event's `seq` or the document's `n`; 0 for a case's own fields.
    pub item: i64,
}

/// One sealed value and what the server binds it to (its sealing context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    /// Where it is.
    pub at: SealedRef,
    /// The event's or document's ledger index; 0 for a case's own fields.
    pub ledger_index: i64,
    /// The sealed bytes.
    pub sealed: Vec<u8>,
}

/// A re-sealed value, written only if the stored one is still `old`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resealed {
    /// Where it is.
    pub at: SealedRef,
    /// The value it replaces.
    pub old: Vec<u8>,
    /// The new value.
    pub new: Vec<u8>,
}

/// A single sign-on (OpenID Connect) flow started and not yet finished.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OidcPending {
    /// SHA-256 of the flow's `state` parameter.
    pub state_hash: Vec<u8>,
    /// SHA-256 of the flow cookie of the browser that started it.
    pub browser_hash: Vec<u8>,
    /// The PKCE verifier, sealed by the server.
    pub verifier: Vec<u8>,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// UNIX seconds.
    pub started_at: i64,
}
