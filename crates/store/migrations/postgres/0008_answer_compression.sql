-- A case's answer is about 3 KB of JSON, above the size at which PostgreSQL compresses a
-- value. Compressed with lz4 rather than the default pglz, it takes a fifth less of the
-- database's CPU per case created (BENCHMARKS § Service, sixth round). A server built
-- without lz4, or older than PostgreSQL 14, keeps its default.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE cases ALTER COLUMN answer_json SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    NULL;
END
$$;
