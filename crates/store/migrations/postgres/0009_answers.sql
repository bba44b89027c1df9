-- Each distinct answer of the engine is kept once, under the SHA-256 of its JSON: an answer
-- depends only on the request's facts, the rule packs and the date, so cases repeat it, and
-- it was most of a case row's bytes (1,988 of 2,627 compressed), which PostgreSQL then had to
-- write back (BENCHMARKS § Service, eighth round). A case names its answer by `answer_hash`
-- and keeps an empty `answer_json`; cases stored before this migration keep theirs in the
-- row, as on SQLite, and reads take whichever is there.
CREATE TABLE answers (hash BYTEA PRIMARY KEY, answer_json TEXT NOT NULL);
ALTER TABLE cases ADD COLUMN answer_hash BYTEA;
DO $$
BEGIN
    EXECUTE 'ALTER TABLE answers ALTER COLUMN answer_json SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    NULL;
END
$$;
