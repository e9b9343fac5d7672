-- Chat server schema, version 9, for MySQL/MariaDB: the store's own search index
-- (docs/protocol.md, "Search"), in place of InnoDB's FULLTEXT index, which finds
-- every match of a word before it can apply the scope, the order or the limit (a
-- common word in a million messages took seconds; benchmarks/RESULTS.md, "Search").
--
-- To apply it by hand, after version 8:
--     mysql -u USER -p chat < sql/mysql/009_search_words.sql
-- The server then indexes the messages already stored when it next starts.

-- One row per key of a message, per place it is in. The keys are the folded
-- words of the body (no diacritics, case folded: `Général` is `general`), the
-- first two letters of each after a `*` (`*ge`), and each two words side by side
-- after a space (` le general`), as UTF-8, compared byte for byte; they are made by
-- the server (chat_srv/store/search.py), never by SQL. The place is the room's id, or minus each party's user id for a
-- direct message (two rows). In this order, the newest messages of one key in one
-- place are the end of a range of the primary key: a search walks it backwards and
-- stops after a page, however common the word.
--
-- The server adds the rows of a message in the transaction that stores it, and
-- those of an edit's new body. A deleted message, or a word an edit took out, keeps
-- its rows: a search reads each message it finds and checks it against its current
-- body, so they lead nowhere.
CREATE TABLE search_words (
    word       VARBINARY(256) NOT NULL,
    place      BIGINT         NOT NULL,
    message_id BIGINT         NOT NULL,
    PRIMARY KEY (word, place, message_id)
) ENGINE = InnoDB;

-- The messages stored before this version, still to be put in the index: those
-- with an id up to `up_to`. The server indexes them at its start, newest first, a
-- few thousand per transaction, lowering `up_to` as it goes, to 0.
CREATE TABLE search_backlog (
    one   TINYINT NOT NULL PRIMARY KEY,
    up_to BIGINT  NOT NULL,
    CONSTRAINT search_backlog_one CHECK (one = 1)
) ENGINE = InnoDB;

INSERT INTO search_backlog (one, up_to) SELECT 1, COALESCE(MAX(id), 0) FROM messages;

ALTER TABLE messages DROP INDEX messages_body;

INSERT INTO schema_version (version, applied_at) VALUES (9, UNIX_TIMESTAMP() * 1000);
