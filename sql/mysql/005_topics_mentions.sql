-- Chat server schema, version 5, for MySQL/MariaDB: room topics, and mentions. A
-- room's members see its topic; a message that mentions a member as @name counts as
-- an unread mention for them until their read marker passes it (docs/protocol.md,
-- "Finding and noticing").
--
-- To apply it by hand, after version 4:
--     mysql -u USER -p chat < sql/mysql/005_topics_mentions.sql

ALTER TABLE rooms ADD COLUMN topic VARCHAR(1200) NULL;

-- One row per room message and member it mentions (the sender never counts).
-- Counting a member's unread mentions in a room is a range of the primary key.
CREATE TABLE mentions (
    user_id BIGINT NOT NULL,
    room_id BIGINT NOT NULL,
    msg_id  BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id, msg_id),
    -- Edits and deletions replace or remove a message's rows.
    KEY mentions_msg (msg_id),
    CONSTRAINT mentions_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT mentions_room_fk FOREIGN KEY (room_id) REFERENCES rooms (id),
    CONSTRAINT mentions_msg_fk FOREIGN KEY (msg_id) REFERENCES messages (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

INSERT INTO schema_version (version, applied_at) VALUES (5, UNIX_TIMESTAMP() * 1000);
