-- Chat server schema, version 4, for MySQL/MariaDB: messages that change. A message
-- may be a reply and a `/me` line; its sender may edit it; its sender (or a
-- moderator) may delete it, which removes its body; anyone who can read it may react
-- to it. Every change gets a `change_id`, gap-free and in commit order, so a client
-- that was away asks for the changes after the last one it saw (docs/protocol.md,
-- "Messages that change").
--
-- To apply it by hand, after version 3:
--     mysql -u USER -p chat < sql/mysql/004_message_changes.sql

ALTER TABLE messages
    ADD COLUMN reply_to  BIGINT  NULL,              -- a message of the same room or conversation
    ADD COLUMN action    BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN edited_at BIGINT  NULL,              -- time of the last edit
    -- A deleted message keeps its row (its place in history) with an empty body.
    ADD COLUMN deleted   BOOLEAN NOT NULL DEFAULT FALSE;

-- One row per change. id is the change_id, taken from change_counter: the counter's
-- row is locked until the transaction ends, so ids have no gaps (a rolled-back
-- transaction gives its ids back) and follow the commit order, with several servers
-- too. room_id, dm_lo and dm_hi are the message's, so that who may read a change
-- needs no join. body: an edit's new body, cleared when the message is deleted.
CREATE TABLE changes (
    id      BIGINT       NOT NULL PRIMARY KEY,
    msg_id  BIGINT       NOT NULL,
    kind    VARCHAR(8)   NOT NULL,
    actor   VARCHAR(64)  NOT NULL,               -- who: a user name, or `console`
    ts      BIGINT       NOT NULL,
    body    TEXT         NULL,
    emoji   VARCHAR(64)  NULL,
    reason  VARCHAR(512) NULL,                   -- a moderator's deletion (`redact`)
    room_id BIGINT       NULL,
    dm_lo   BIGINT       NULL,
    dm_hi   BIGINT       NULL,
    KEY changes_msg (msg_id),
    CONSTRAINT changes_msg_fk FOREIGN KEY (msg_id) REFERENCES messages (id),
    CONSTRAINT changes_kind CHECK (kind IN ('edit', 'delete', 'react', 'unreact'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE change_counter (
    one     TINYINT NOT NULL PRIMARY KEY,
    last_id BIGINT  NOT NULL,
    CONSTRAINT change_counter_one CHECK (one = 1)
) ENGINE = InnoDB;

INSERT INTO change_counter (one, last_id) VALUES (1, 0);

-- The reactions on a message now: who put which emoji, ordered by the change that
-- put it on (oldest first).
CREATE TABLE reactions (
    msg_id    BIGINT      NOT NULL,
    emoji     VARCHAR(64) NOT NULL,
    user_id   BIGINT      NOT NULL,
    change_id BIGINT      NOT NULL,
    PRIMARY KEY (msg_id, emoji, user_id),
    CONSTRAINT reactions_msg_fk FOREIGN KEY (msg_id) REFERENCES messages (id),
    CONSTRAINT reactions_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

INSERT INTO schema_version (version, applied_at) VALUES (4, UNIX_TIMESTAMP() * 1000);
