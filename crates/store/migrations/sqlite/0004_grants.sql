-- An auditor's time-limited right to see one case's personal data, granted by an
-- administrator (every grant is logged to the ledger first).
CREATE TABLE access_grants (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    case_id TEXT NOT NULL REFERENCES cases(id),
    granted_by BIGINT NOT NULL REFERENCES accounts(id),
    granted_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, case_id)
);
