-- Single sign-on flows in progress, shared by every instance: the provider's redirect back
-- may reach any of them. The state is stored hashed, the PKCE verifier sealed by the server.
CREATE TABLE oidc_pending (
    state_hash BLOB PRIMARY KEY,
    browser_hash BLOB NOT NULL,
    verifier BLOB NOT NULL,
    nonce TEXT NOT NULL,
    started_at BIGINT NOT NULL
);
CREATE INDEX oidc_pending_by_start ON oidc_pending (started_at);
