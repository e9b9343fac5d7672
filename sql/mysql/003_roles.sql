-- Chat server schema, version 3, for MySQL/MariaDB: every account's role. A
-- moderator may run the moderation commands of the console with the `moderate`
-- request; an admin every command but `shutdown` (docs/protocol.md, "Roles").
--
-- To apply it by hand, after version 2:
--     mysql -u USER -p chat < sql/mysql/003_roles.sql

ALTER TABLE users ADD COLUMN role VARCHAR(16) NOT NULL DEFAULT 'user',
    ADD CONSTRAINT users_role CHECK (role IN ('user', 'moderator', 'admin'));

INSERT INTO schema_version (version, applied_at) VALUES (3, UNIX_TIMESTAMP() * 1000);
