-- Chat server schema, version 2, for SQLite: the addresses each account has logged
-- in from. An owner who logs in from one of them is not held back by failed
-- guesses made from elsewhere (docs/security.md, "Failed logins").
--
-- To apply it by hand, after version 1:
--     sqlite3 chat.db < sql/sqlite/002_login_addresses.sql

CREATE TABLE login_addresses (
    user_id       INTEGER NOT NULL REFERENCES users (id),
    ip            TEXT    NOT NULL,
    last_login_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, ip)
) WITHOUT ROWID;

-- Until now only the last address was kept: it is the first one known.
INSERT INTO login_addresses (user_id, ip, last_login_at)
SELECT id, last_ip, COALESCE(last_login_at, created_at) FROM users WHERE last_ip IS NOT NULL;

INSERT INTO schema_version (version, applied_at)
VALUES (2, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
