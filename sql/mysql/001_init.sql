-- Chat server schema, version 1, for MySQL 8 / MariaDB 10.5 or newer (InnoDB).
--
-- The server applies this file itself the first time it opens a database, holding
-- the lock GET_LOCK('chat_schema:<database>') so that two servers starting at once
-- do not both apply it. To apply it by hand:
--     mysql -u USER -p -e 'CREATE DATABASE chat CHARACTER SET utf8mb4'
--     mysql -u USER -p chat < sql/mysql/001_init.sql
--
-- Conventions:
--   * Times are BIGINT: milliseconds since the Unix epoch, UTC.
--   * Text is utf8mb4 with a binary collation: user and room names are unique by
--     `name_key` (NFC, then casefold: chat_core.names.name_key), computed by the
--     server, never by a collation.
--   * Statements end with ';' at the end of a line (the server splits on it).

CREATE TABLE schema_version (
    version    INT    NOT NULL PRIMARY KEY,
    applied_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Names are at most 32 characters (users) and 60 (rooms); a casefolded key can be
-- longer (casefold turns one character into up to three).
CREATE TABLE users (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name          VARCHAR(64)  NOT NULL,     -- as registered (NFC)
    name_key      VARCHAR(255) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,     -- argon2id
    created_at    BIGINT       NOT NULL,
    last_ip       VARCHAR(64)  NULL,
    last_login_at BIGINT       NULL,
    UNIQUE KEY users_name_key (name_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE rooms (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(120) NOT NULL,
    name_key   VARCHAR(255) NOT NULL,
    approval   BOOLEAN      NOT NULL,        -- joining needs an administrator
    created_at BIGINT       NOT NULL,
    UNIQUE KEY rooms_name_key (name_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- A member (with a read marker: the id of the last message read) or a pending
-- request to join (read_marker 0). No row: not a member.
CREATE TABLE memberships (
    user_id     BIGINT      NOT NULL,
    room_id     BIGINT      NOT NULL,
    state       VARCHAR(16) NOT NULL,
    read_marker BIGINT      NOT NULL DEFAULT 0,
    since       BIGINT      NOT NULL,
    PRIMARY KEY (user_id, room_id),
    KEY memberships_room (room_id),
    CONSTRAINT memberships_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT memberships_room_fk FOREIGN KEY (room_id) REFERENCES rooms (id),
    CONSTRAINT memberships_state CHECK (state IN ('member', 'pending'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Room messages and direct messages share one table so that ids increase across
-- the whole server. A direct message has recipient_id, and dm_lo/dm_hi: the two
-- users' ids, smaller first, naming the conversation whichever way it went.
-- A body is at most 16 KiB of UTF-8: TEXT holds 64 KiB.
CREATE TABLE messages (
    id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ts           BIGINT      NOT NULL,
    sender_id    BIGINT      NOT NULL,
    room_id      BIGINT      NULL,
    recipient_id BIGINT      NULL,
    dm_lo        BIGINT      NULL,
    dm_hi        BIGINT      NULL,
    body         TEXT        NOT NULL,
    -- Chosen by the client: makes a send idempotent. Its UTF-8 bytes, compared
    -- byte for byte (a PAD SPACE collation would make "a" and "a " one nonce).
    nonce        VARBINARY(256) NULL,
    -- A NULL nonce never collides: only messages sent with a nonce are deduplicated.
    UNIQUE KEY messages_nonce (sender_id, nonce),
    -- History pages and unread counts are range scans of these (sender_id: so that
    -- counting a member's unread messages reads the index only).
    KEY messages_room (room_id, id, sender_id),
    KEY messages_dm (dm_lo, dm_hi, id, sender_id),
    KEY messages_recipient (recipient_id),
    KEY messages_ts (ts),
    CONSTRAINT messages_sender_fk FOREIGN KEY (sender_id) REFERENCES users (id),
    CONSTRAINT messages_room_fk FOREIGN KEY (room_id) REFERENCES rooms (id),
    CONSTRAINT messages_recipient_fk FOREIGN KEY (recipient_id) REFERENCES users (id),
    CONSTRAINT messages_target CHECK ((room_id IS NULL) <> (recipient_id IS NULL))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per user and conversation, for both parties, created with the first
-- direct message between them (msg_id 0): the list of a user's conversations and
-- the user's read marker in each.
CREATE TABLE dm_reads (
    user_id BIGINT NOT NULL,
    peer_id BIGINT NOT NULL,
    msg_id  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, peer_id),
    KEY dm_reads_peer (peer_id),
    CONSTRAINT dm_reads_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT dm_reads_peer_fk FOREIGN KEY (peer_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Kicks (until_ts set), user bans and IP bans (until lifted). target: a user's
-- name key, or an address or CIDR block in canonical form. (UNTIL is a reserved
-- word in MySQL, hence until_ts.)
CREATE TABLE sanctions (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind       VARCHAR(16)  NOT NULL,
    target     VARCHAR(255) NOT NULL,
    until_ts   BIGINT       NULL,
    reason     TEXT         NOT NULL,
    created_by VARCHAR(64)  NOT NULL,
    created_at BIGINT       NOT NULL,
    lifted_at  BIGINT       NULL,
    KEY sanctions_target (kind, target),
    CONSTRAINT sanctions_kind CHECK (kind IN ('kick', 'ban', 'ip_ban'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

INSERT INTO schema_version (version, applied_at) VALUES (1, UNIX_TIMESTAMP() * 1000);
