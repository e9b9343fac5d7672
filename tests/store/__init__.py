"""The store contract suite: one set of tests run against SQLite and MySQL/MariaDB."""
