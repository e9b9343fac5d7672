-- Chat server schema, version 9, for SQLite: nothing to change. The MySQL schema
-- replaces InnoDB's FULLTEXT index with one of its own that a search can walk newest
-- first, as it walks FTS5's here. This file keeps the two schemas' versions in step.
--
-- To apply it by hand, after version 8:
--     sqlite3 chat.db < sql/sqlite/009_search_words.sql

INSERT INTO schema_version (version, applied_at)
VALUES (9, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
