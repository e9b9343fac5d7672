-- Chat server schema, version 10, for SQLite: look-alike user names refused by the
-- database itself, as the same name in other capitals is by `name_key`, so that two
-- servers on one database (a cluster, on MySQL) cannot both accept `alice` and
-- `аlice` (Cyrillic а) registered at the same moment (docs/protocol.md, "Names").
--
-- To apply it by hand, after version 9:
--     sqlite3 chat.db < sql/sqlite/010_user_lookalikes.sql
-- The server then fills in the keys of the accounts already there when it next
-- starts (they are made by ICU, never by SQL).

-- The look-alike keys of each account: the UTS #39 skeletons of its name (NFKC),
-- taken before and after casefolding (chat_srv.lookalikes.lookalike_keys), one row
-- each (one when both are the same). Two names look alike when they share a key,
-- whichever of the two it is for each: hence a table of keys, not a column per
-- reading. The server adds an account's rows in the transaction that creates it.
CREATE TABLE user_lookalikes (
    lookalike_key TEXT    NOT NULL PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id)
) WITHOUT ROWID;

-- The accounts made before this version, whose keys the server is still to add:
-- those with an id up to `up_to` (0: none). It adds them, oldest account first, in
-- the transaction that brings the database to this version (or, after this file was
-- applied by hand, when it next starts). Accounts that older servers let look alike
-- all stay; a key two of them share stays the oldest one's, and the server logs the
-- younger account that goes without it (it still logs in; a new look-alike of it is
-- refused through its other key, or through the older account's).
CREATE TABLE lookalike_backlog (
    one   INTEGER NOT NULL PRIMARY KEY CHECK (one = 1),
    up_to INTEGER NOT NULL
);

INSERT INTO lookalike_backlog (one, up_to) SELECT 1, COALESCE(MAX(id), 0) FROM users;

INSERT INTO schema_version (version, applied_at)
VALUES (10, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
