-- Each distinct answer of the engine is kept once, under the SHA-256 of its JSON: an answer
-- depends only on the request's facts, the rule packs and the date, so cases repeat it, and
-- it was most of a case row's bytes. A case names its answer by `answer_hash` and keeps an
-- empty `answer_json`; cases stored before this migration keep theirs in the row (no hash
-- function in SQLite's SQL to move them), and reads take whichever is there.
CREATE TABLE answers (hash BLOB PRIMARY KEY, answer_json TEXT NOT NULL);
ALTER TABLE cases ADD COLUMN answer_hash BLOB;
