-- Chat server schema, version 5, for SQLite: room topics, and mentions. A room's
-- members see its topic; a message that mentions a member as @name counts as an
-- unread mention for them until their read marker passes it (docs/protocol.md,
-- "Finding and noticing").
--
-- To apply it by hand, after version 4:
--     sqlite3 chat.db < sql/sqlite/005_topics_mentions.sql

ALTER TABLE rooms ADD COLUMN topic TEXT;

-- One row per room message and member it mentions (the sender never counts).
-- Counting a member's unread mentions in a room is a range of the primary key.
CREATE TABLE mentions (
    user_id INTEGER NOT NULL REFERENCES users (id),
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    msg_id  INTEGER NOT NULL REFERENCES messages (id),
    PRIMARY KEY (user_id, room_id, msg_id)
) WITHOUT ROWID;

-- Edits and deletions replace or remove a message's rows.
CREATE INDEX mentions_msg ON mentions (msg_id);

INSERT INTO schema_version (version, applied_at)
VALUES (5, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
