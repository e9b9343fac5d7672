-- Chat server schema, version 2, for MySQL/MariaDB: the addresses each account has
-- logged in from. An owner who logs in from one of them is not held back by failed
-- guesses made from elsewhere (docs/security.md, "Failed logins").
--
-- To apply it by hand, after version 1:
--     mysql -u USER -p chat < sql/mysql/002_login_addresses.sql

CREATE TABLE login_addresses (
    user_id       BIGINT      NOT NULL,
    ip            VARCHAR(64) NOT NULL,
    last_login_at BIGINT      NOT NULL,
    PRIMARY KEY (user_id, ip),
    CONSTRAINT login_addresses_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Until now only the last address was kept: it is the first one known.
INSERT INTO login_addresses (user_id, ip, last_login_at)
SELECT id, last_ip, COALESCE(last_login_at, created_at) FROM users WHERE last_ip IS NOT NULL;

INSERT INTO schema_version (version, applied_at) VALUES (2, UNIX_TIMESTAMP() * 1000);
