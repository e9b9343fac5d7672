-- Chat server schema, version 8, for MySQL/MariaDB: message search (docs/protocol.md,
-- "Search"). InnoDB's FULLTEXT index on the bodies, searched IN BOOLEAN MODE.
--
-- To apply it by hand, after version 7 (it rebuilds the messages table: on a large
-- table it takes a while, about 15 s per million messages):
--     mysql -u USER -p chat < sql/mysql/008_search.sql

-- The index compares words by the column's collation: the binary one would make
-- search case- and accent-sensitive, so the body takes a case- and
-- accent-insensitive one (`Général` matches `general`). Nothing else compares
-- bodies in SQL. Stop words are off for this index (the setting is read when an
-- index is made, for this session only): InnoDB's list holds words such as
-- "the", "about" and "www" (and "de", "la" and "en", common in French), which
-- would then never match. Words shorter than innodb_ft_min_token_size (3 by
-- default) are still not indexed: that one is the server's, read at its start.
SET SESSION innodb_ft_enable_stopword = OFF;

ALTER TABLE messages
    MODIFY body TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    ADD FULLTEXT KEY messages_body (body);

SET SESSION innodb_ft_enable_stopword = DEFAULT;

INSERT INTO schema_version (version, applied_at) VALUES (8, UNIX_TIMESTAMP() * 1000);
