-- Chat server schema, version 8, for SQLite: message search (docs/protocol.md,
-- "Search"). Needs SQLite 3.31 or newer, built with FTS5 (Python's sqlite3 is).
--
-- To apply it by hand, after version 7:
--     sqlite3 chat.db < sql/sqlite/008_search.sql

-- Where a message is, as words of the index: `r<room id>` for a room message,
-- `u<id> u<id>` (both parties) for a direct message; nothing for a deleted one,
-- which has no words at all then (its body is empty). Computed, never stored.
ALTER TABLE messages ADD COLUMN place TEXT GENERATED ALWAYS AS (
    CASE
        WHEN deleted = 1 THEN NULL
        WHEN room_id IS NOT NULL THEN 'r' || room_id
        ELSE 'u' || dm_lo || ' u' || dm_hi
    END
) VIRTUAL;

-- A full-text index of the messages' bodies and places, its text read from the
-- messages table itself (external content: no second copy of the bodies). The
-- tokenizer folds case and removes diacritics (`Général` matches `general`, and
-- `GÉNÉRAL`), and keeps `_` inside words (`foo_bar` is one word), as MySQL does.
-- Searching for a place narrows the index to it (`r12`): FTS5 intersects the
-- lists, newest first, so a common word costs no more than a rare one. Prefix
-- indexes of 1 and 2 characters make short prefixes (`t*`, `de*`) as cheap as
-- words; without them `t*` reads every word that starts with t.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, place,
    content = 'messages', content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2 tokenchars '_'",
    prefix = '1 2'
);

-- The index holds every message that is not deleted, with its current body.
-- New messages are added by the store itself, in the transaction that stores them:
-- one INSERT ... SELECT per batch (chat_srv/store/sqlite.py). A trigger would do it
-- one row at a time, and FTS5 writes out its pending words at every statement a
-- trigger runs: more than twice what the insert itself costs, on the server's
-- hottest path (benchmarks/RESULTS.md, "Search"). A message inserted by hand is
-- therefore not found until the index is made again from the messages table:
--     INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
-- Edits and deletions are rare: triggers keep the index in step with them,
-- whoever makes them (the store, the console, a hand). An edit takes the old body
-- out and puts the new one in; a deletion (body emptied, deleted = 1) takes the
-- message out for good.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, deleted ON messages
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, place)
    SELECT 'delete', old.id, old.body, old.place WHERE old.deleted = 0;
    INSERT INTO messages_fts (rowid, body, place)
    SELECT new.id, new.body, new.place WHERE new.deleted = 0;
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.deleted = 0
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, place)
    VALUES ('delete', old.id, old.body, old.place);
END;

-- The messages already there (deleted ones stay out).
INSERT INTO messages_fts (rowid, body, place)
SELECT id, body, place FROM messages WHERE deleted = 0;

INSERT INTO schema_version (version, applied_at)
VALUES (8, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
