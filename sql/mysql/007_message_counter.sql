-- Chat server schema, version 7, for MySQL/MariaDB: message ids in commit order.
-- With AUTO_INCREMENT, transaction A can take id 1 and B id 2, B commit first, and
-- a reader see 2 without 1: a client catching up with `history after=2` would never
-- get 1. Each batch of messages now takes its ids from this row, locked until the
-- transaction ends: ids are dense and in commit order, with several servers on one
-- database too.
--
-- To apply it by hand, after version 6:
--     mysql -u USER -p chat < sql/mysql/007_message_counter.sql

CREATE TABLE message_counter (
    one     TINYINT NOT NULL PRIMARY KEY,
    last_id BIGINT  NOT NULL,
    CONSTRAINT message_counter_one CHECK (one = 1)
) ENGINE = InnoDB;

INSERT INTO message_counter (one, last_id) SELECT 1, COALESCE(MAX(id), 0) FROM messages;

INSERT INTO schema_version (version, applied_at) VALUES (7, UNIX_TIMESTAMP() * 1000);
