-- Chat server schema, version 7, for SQLite: nothing to change. The MySQL schema
-- gains a counter that gives message ids in commit order across servers; an SQLite
-- database has one writer at a time, whose ids are in commit order already. This
-- file keeps the two schemas' versions in step.
--
-- To apply it by hand, after version 6:
--     sqlite3 chat.db < sql/sqlite/007_message_counter.sql

INSERT INTO schema_version (version, applied_at)
VALUES (7, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
