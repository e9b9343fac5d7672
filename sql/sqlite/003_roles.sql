-- Chat server schema, version 3, for SQLite: every account's role. A moderator may
-- run the moderation commands of the console with the `moderate` request; an admin
-- every command but `shutdown` (docs/protocol.md, "Roles").
--
-- To apply it by hand, after version 2:
--     sqlite3 chat.db < sql/sqlite/003_roles.sql

ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user'
    CHECK (role IN ('user', 'moderator', 'admin'));

INSERT INTO schema_version (version, applied_at)
VALUES (3, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
