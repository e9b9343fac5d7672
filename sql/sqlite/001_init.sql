-- Chat server schema, version 1, for SQLite (3.24 or newer).
--
-- The server applies this file itself, in one transaction, the first time it opens
-- a database file. To apply it by hand:
--     sqlite3 chat.db < sql/sqlite/001_init.sql
-- The server turns on WAL mode and foreign keys on each of its connections.
--
-- Conventions:
--   * Times are integers: milliseconds since the Unix epoch, UTC.
--   * User and room names are unique by `name_key`: the name in NFC, then
--     casefolded (chat_core.names.name_key), computed by the server.
--   * Statements end with ';' at the end of a line (the server splits on it).

CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,          -- as registered (NFC)
    name_key      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,          -- argon2id
    created_at    INTEGER NOT NULL,
    last_ip       TEXT,
    last_login_at INTEGER
);

CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL UNIQUE,
    approval   INTEGER NOT NULL CHECK (approval IN (0, 1)),  -- joining needs an administrator
    created_at INTEGER NOT NULL
);

-- A member (with a read marker: the id of the last message read) or a pending
-- request to join (read_marker 0). No row: not a member.
CREATE TABLE memberships (
    user_id     INTEGER NOT NULL REFERENCES users (id),
    room_id     INTEGER NOT NULL REFERENCES rooms (id),
    state       TEXT    NOT NULL CHECK (state IN ('member', 'pending')),
    read_marker INTEGER NOT NULL DEFAULT 0,
    since       INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id)
) WITHOUT ROWID;

CREATE INDEX memberships_room ON memberships (room_id);

-- Room messages and direct messages share one table so that ids increase across
-- the whole server. AUTOINCREMENT: an id is never reused.
-- A direct message has recipient_id, and dm_lo/dm_hi: the two users' ids, smaller
-- first, naming the conversation whichever way the message went.
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    ts           INTEGER NOT NULL,
    sender_id    INTEGER NOT NULL REFERENCES users (id),
    room_id      INTEGER REFERENCES rooms (id),
    recipient_id INTEGER REFERENCES users (id),
    dm_lo        INTEGER,
    dm_hi        INTEGER,
    body         TEXT    NOT NULL,
    nonce        TEXT,                       -- chosen by the client: makes a send idempotent
    CHECK ((room_id IS NULL) <> (recipient_id IS NULL)),
    CHECK ((recipient_id IS NULL) = (dm_lo IS NULL) AND (dm_lo IS NULL) = (dm_hi IS NULL))
);

-- A NULL nonce never collides: only messages sent with a nonce are deduplicated.
CREATE UNIQUE INDEX messages_nonce ON messages (sender_id, nonce);
-- History pages and unread counts are range scans of these (sender_id: so that
-- counting a member's unread messages reads the index only).
CREATE INDEX messages_room ON messages (room_id, id, sender_id);
CREATE INDEX messages_dm ON messages (dm_lo, dm_hi, id, sender_id);
CREATE INDEX messages_ts ON messages (ts);

-- One row per user and conversation, for both parties, created with the first
-- direct message between them (msg_id 0): the list of a user's conversations and
-- the user's read marker in each.
CREATE TABLE dm_reads (
    user_id INTEGER NOT NULL REFERENCES users (id),
    peer_id INTEGER NOT NULL REFERENCES users (id),
    msg_id  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, peer_id)
) WITHOUT ROWID;

-- Kicks (until_ts set), user bans and IP bans (until lifted). target: a user's
-- name key, or an address or CIDR block in canonical form.
CREATE TABLE sanctions (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('kick', 'ban', 'ip_ban')),
    target     TEXT    NOT NULL,
    until_ts   INTEGER,
    reason     TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    lifted_at  INTEGER
);

CREATE INDEX sanctions_target ON sanctions (kind, target);

INSERT INTO schema_version (version, applied_at)
VALUES (1, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
