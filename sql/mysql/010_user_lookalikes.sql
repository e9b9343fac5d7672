-- Chat server schema, version 10, for MySQL/MariaDB: look-alike user names refused
-- by the database itself, as the same name in other capitals is by `name_key`, so
-- that two nodes of a cluster cannot both accept `alice` and `аlice` (Cyrillic а)
-- registered at the same moment (docs/cluster.md).
--
-- To apply it by hand, after version 9:
--     mysql -u USER -p chat < sql/mysql/010_user_lookalikes.sql
-- The server then fills in the keys of the accounts already there when it next
-- starts (they are made by ICU, never by SQL).

-- The look-alike keys of each account: the UTS #39 skeletons of its name (NFKC),
-- taken before and after casefolding (chat_srv.lookalikes.lookalike_keys), one row
-- each (one when both are the same), as UTF-8, compared byte for byte. Two names
-- look alike when they share a key, whichever of the two it is for each: hence a
-- table of keys, not a column per reading. A name of 64 characters makes a key of
-- at most 1,920 bytes. The server adds an account's rows in the transaction that
-- creates it.
CREATE TABLE user_lookalikes (
    lookalike_key VARBINARY(2048) NOT NULL PRIMARY KEY,
    user_id       BIGINT          NOT NULL,
    CONSTRAINT user_lookalikes_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB;

-- The accounts made before this version, whose keys the server is still to add:
-- those with an id up to `up_to` (0: none). It adds them, oldest account first,
-- holding the schema lock, right after it brings the database to this version (or,
-- after this file was applied by hand, when it next starts). Accounts that older
-- servers let look alike all stay; a key two of them share stays the oldest one's,
-- and the server logs the younger account that goes without it (it still logs in;
-- a new look-alike of it is refused through its other key, or through the older
-- account's).
CREATE TABLE lookalike_backlog (
    one   TINYINT NOT NULL PRIMARY KEY,
    up_to BIGINT  NOT NULL,
    CONSTRAINT lookalike_backlog_one CHECK (one = 1)
) ENGINE = InnoDB;

INSERT INTO lookalike_backlog (one, up_to) SELECT 1, COALESCE(MAX(id), 0) FROM users;

INSERT INTO schema_version (version, applied_at) VALUES (10, UNIX_TIMESTAMP() * 1000);
