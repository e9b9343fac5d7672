"""Persistence: the `Store` interface and a constructor picking the backend from `--db`."""

from __future__ import annotations

import os
from urllib.parse import quote

from chat_srv.store.base import (
    Conflict,
    DmUnread,
    Membership,
    MembershipState,
    NewMessage,
    RoomRecord,
    RoomUnread,
    Sanction,
    SanctionKind,
    Store,
    StoredId,
    StoredMessage,
    StoreError,
    StoreUnavailable,
    UserRecord,
)

__all__ = [
    "Conflict",
    "DmUnread",
    "Membership",
    "MembershipState",
    "NewMessage",
    "RoomRecord",
    "RoomUnread",
    "Sanction",
    "SanctionKind",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredId",
    "StoredMessage",
    "UserRecord",
    "describe_database",
    "open_store",
]


def open_store(db: str, *, timeout: float = 5.0) -> Store:
    """The store for `db`: a `mysql://` URL, else an SQLite file path. Not yet opened.

    `timeout` bounds every MySQL operation (seconds): past it, `StoreUnavailable`.
    A malformed MySQL URL raises `ValueError` saying what is wrong.
    """
    if db.startswith("mysql:"):
        from chat_srv.store.mysql import MysqlStore  # imported only when used

        return MysqlStore(db, timeout=timeout)
    if "://" in db:
        raise ValueError(f"{db.split('://')[0]}:// is not supported: use mysql:// or a file path")
    from chat_srv.store.sqlite import SqliteStore

    return SqliteStore(db)


def describe_database(db: str) -> str:
    """`db` as the log may name it: `mysql://user@host:port/database` (never the
    password), or `sqlite:` and the file's absolute path.

    Raises:
        ValueError: a malformed MySQL URL (as `open_store` does).
    """
    if db.startswith("mysql:"):
        from chat_srv.store.mysql_connect import parse_mysql_url

        url = parse_mysql_url(db)
        return f"mysql://{quote(url.user, safe='')}@{url.where}/{quote(url.database, safe='')}"
    return f"sqlite:{db if db == ':memory:' else os.path.abspath(db)}"
