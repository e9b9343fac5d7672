-- Chat server schema, version 6, for MySQL/MariaDB: session tokens. A login's
-- result carries a token that logs the user in again without the password (and
-- without hashing it), so clients come back at once after a restart. Only the
-- token's SHA-256 digest is kept, never the token (docs/security.md, "Session tokens").
--
-- To apply it by hand, after version 5:
--     mysql -u USER -p chat < sql/mysql/006_sessions.sql

CREATE TABLE sessions (
    -- SHA-256 of the token, in hex, compared byte for byte.
    digest     CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL,                  -- the last login with it (to the hour)
    -- Revoking every token of a user (logout all, ban, kill).
    KEY sessions_user (user_id),
    CONSTRAINT sessions_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB;

INSERT INTO schema_version (version, applied_at) VALUES (6, UNIX_TIMESTAMP() * 1000);
