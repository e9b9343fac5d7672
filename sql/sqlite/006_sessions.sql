-- Chat server schema, version 6, for SQLite: session tokens. A login's result
-- carries a token that logs the user in again without the password (and without
-- hashing it), so clients come back at once after a restart. Only the token's
-- SHA-256 digest is kept, never the token (docs/security.md, "Session tokens").
--
-- To apply it by hand, after version 5:
--     sqlite3 chat.db < sql/sqlite/006_sessions.sql

CREATE TABLE sessions (
    digest     TEXT    PRIMARY KEY,              -- SHA-256 of the token, in hex
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL                  -- the last login with it (to the hour)
) WITHOUT ROWID;

-- Revoking every token of a user (logout all, ban, kill).
CREATE INDEX sessions_user ON sessions (user_id);

INSERT INTO schema_version (version, applied_at)
VALUES (6, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
