-- Agency settings, edited by administrators (agency name, Law Department contact, letter
-- templates) and per-account preferences (the interface language). Never personal data.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
