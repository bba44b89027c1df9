-- citygate service store, SQLite. Personal data is only ever stored sealed (ciphertext).
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    department TEXT NOT NULL,
    password_hash TEXT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE TABLE setup_tokens (token_hash BLOB PRIMARY KEY, created_at BIGINT NOT NULL);
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    csrf_token TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE api_tokens (
    token_hash BLOB PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES accounts(id),
    department TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    rules_hash TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    requires_signoff BOOLEAN NOT NULL,
    personal BLOB NOT NULL,
    action TEXT,
    signed_off_by BIGINT,
    resolution TEXT,
    version BIGINT NOT NULL
);
CREATE INDEX cases_by_department ON cases (department, created_at);
CREATE INDEX cases_by_creator ON cases (created_by, created_at);
CREATE TABLE case_events (
    case_id TEXT NOT NULL REFERENCES cases(id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    ledger_index BIGINT NOT NULL,
    actor BIGINT NOT NULL,
    at BIGINT NOT NULL,
    personal BLOB,
    PRIMARY KEY (case_id, seq)
);
CREATE TABLE access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL,
    case_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX access_log_by_case ON access_log (case_id, id);
