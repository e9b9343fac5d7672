-- Chat server schema, version 4, for SQLite: messages that change. A message may be
-- a reply and a `/me` line; its sender may edit it; its sender (or a moderator) may
-- delete it, which removes its body; anyone who can read it may react to it. Every
-- change gets a `change_id`, gap-free and in commit order, so a client that was away
-- asks for the changes after the last one it saw (docs/protocol.md, "Messages that
-- change").
--
-- To apply it by hand, after version 3:
--     sqlite3 chat.db < sql/sqlite/004_message_changes.sql

-- reply_to: a message of the same room or conversation. edited_at: the last edit.
ALTER TABLE messages ADD COLUMN reply_to INTEGER;
ALTER TABLE messages ADD COLUMN action INTEGER NOT NULL DEFAULT 0 CHECK (action IN (0, 1));
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
-- A deleted message keeps its row (its place in history) with an empty body.
ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1));

-- One row per change. id is the change_id: the store gives max + 1 under the write
-- lock and never deletes a row, so ids have no gaps. room_id, dm_lo and dm_hi are
-- the message's, so that who may read a change needs no join. body: an edit's new
-- body, cleared when the message is deleted (its text is then gone from the store).
CREATE TABLE changes (
    id       INTEGER PRIMARY KEY,
    msg_id   INTEGER NOT NULL REFERENCES messages (id),
    kind     TEXT    NOT NULL CHECK (kind IN ('edit', 'delete', 'react', 'unreact')),
    actor    TEXT    NOT NULL,              -- who: a user name, or `console`
    ts       INTEGER NOT NULL,
    body     TEXT,
    emoji    TEXT,
    reason   TEXT,                          -- a moderator's deletion (`redact`)
    room_id  INTEGER,
    dm_lo    INTEGER,
    dm_hi    INTEGER
);

CREATE INDEX changes_msg ON changes (msg_id);

-- The reactions on a message now: who put which emoji, ordered by the change that
-- put it on (oldest first).
CREATE TABLE reactions (
    msg_id    INTEGER NOT NULL REFERENCES messages (id),
    emoji     TEXT    NOT NULL,
    user_id   INTEGER NOT NULL REFERENCES users (id),
    change_id INTEGER NOT NULL,
    PRIMARY KEY (msg_id, emoji, user_id)
) WITHOUT ROWID;

INSERT INTO schema_version (version, applied_at)
VALUES (4, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
