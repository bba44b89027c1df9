-- Documents presented with a case: the reader's classification in clear (codes only),
-- the bytes sealed by the server (ciphertext).
CREATE TABLE case_documents (
    case_id TEXT NOT NULL REFERENCES cases(id),
    n BIGINT NOT NULL,
    ledger_index BIGINT NOT NULL,
    uploaded_by BIGINT NOT NULL,
    at BIGINT NOT NULL,
    size BIGINT NOT NULL,
    format TEXT NOT NULL,
    kind TEXT,
    confidence TEXT NOT NULL,
    uncertain BOOLEAN NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (case_id, n)
);
