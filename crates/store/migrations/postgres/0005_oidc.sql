-- Single sign-on: the OpenID Connect identity (issuer and subject) that logs in as an
-- account. The subject is the provider's stable, opaque identifier of the person.
CREATE TABLE oidc_links (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    account_id BIGINT NOT NULL UNIQUE REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
