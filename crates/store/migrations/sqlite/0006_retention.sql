-- Retention: the limits that covered a case when it opened (rule ids, what, days after
-- close; no personal data), when it closed, when its next purge is due, and what was purged.
ALTER TABLE cases ADD COLUMN retention TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cases ADD COLUMN closed_at BIGINT;
ALTER TABLE cases ADD COLUMN retention_due BIGINT;
ALTER TABLE cases ADD COLUMN documents_purged_at BIGINT;
ALTER TABLE cases ADD COLUMN details_purged_at BIGINT;
CREATE INDEX cases_by_retention_due ON cases (retention_due) WHERE retention_due IS NOT NULL;
ALTER TABLE case_documents ADD COLUMN purged_at BIGINT;
