"""Throw-away test databases: each MySQL test gets a database of its own.

The databases are `chat_test_<random>` on the server named by `CHAT_TEST_MYSQL`
(e.g. `mysql://root@127.0.0.1:3306/test`; the database in that URL is not used).
Without that variable MySQL tests skip, except in CI, where they fail.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiomysql
import pytest

from chat_srv.store.migrations import load_migrations
from chat_srv.store.mysql_connect import parse_mysql_url

MYSQL_ENV = "CHAT_TEST_MYSQL"
ADMIN_TIMEOUT = 10.0  # seconds: a test never waits longer on the admin connection


def mysql_server_url() -> str:
    """The MySQL server URL from `CHAT_TEST_MYSQL`; skip the test without it (fail in CI)."""
    url = os.environ.get(MYSQL_ENV, "")
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{MYSQL_ENV} must be set in CI")
        pytest.skip(f"MySQL tests need {MYSQL_ENV}=mysql://user:password@host:port/database")
    return url


def with_database(url: str, database: str) -> str:
    """`url` naming another database on the same server with the same credentials."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, "", ""))


@asynccontextmanager
async def mysql_admin(url: str) -> AsyncIterator[Any]:
    """A cursor on an autocommit connection to the server of `url`, no database selected."""
    params = parse_mysql_url(url)
    conn = await aiomysql.connect(
        host=params.host,
        port=params.port,
        user=params.user,
        password=params.password,
        autocommit=True,
        connect_timeout=ADMIN_TIMEOUT,
    )
    try:
        async with conn.cursor() as cur:
            yield cur
    finally:
        await conn.ensure_closed()


async def make_mysql_database(server_url: str) -> str:
    """Create an empty database `chat_test_<random>`; return its URL."""
    database = f"chat_test_{secrets.token_hex(6)}"
    async with mysql_admin(server_url) as cur:
        await cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    return with_database(server_url, database)


async def drop_mysql_database(url: str) -> None:
    """Drop the database `url` names (made by `make_mysql_database`)."""
    database = parse_mysql_url(url).database
    if not database.startswith("chat_test_"):
        raise ValueError(f"refusing to drop {database!r}: not a test database")
    async with mysql_admin(url) as cur:
        await cur.execute(f"DROP DATABASE `{database}`")


@asynccontextmanager
async def mysql_database(server_url: str) -> AsyncIterator[str]:
    """A fresh database on the server of `server_url`, dropped afterwards; yields its URL."""
    url = await make_mysql_database(server_url)
    try:
        yield url
    finally:
        await drop_mysql_database(url)


async def schema_versions(db: str) -> list[int]:
    """The versions recorded in `schema_version` of a store's database."""
    if db.startswith("mysql://"):
        async with mysql_admin(db) as cur:
            database = parse_mysql_url(db).database
            await cur.execute(f"SELECT version FROM `{database}`.schema_version ORDER BY version")
            return [int(r[0]) for r in await cur.fetchall()]
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    conn.close()
    return [int(r[0]) for r in rows]


async def make_old_database(db: str, version: int, statements: Sequence[str] = ()) -> None:
    """A database as an older server left it: the schema files 1 to `version` of its
    backend applied to the empty database `db`, then `statements` (its rows)."""
    if db.startswith("mysql://"):
        database = parse_mysql_url(db).database
        async with mysql_admin(db) as cur:
            await cur.execute(f"USE `{database}`")
            for migration in load_migrations("mysql")[:version]:
                for statement in migration.statements:
                    await cur.execute(statement)
            for statement in statements:
                await cur.execute(statement)
        return
    with sqlite3.connect(db) as conn:
        for migration in load_migrations("sqlite")[:version]:
            for statement in migration.statements:
                conn.execute(statement)
        for statement in statements:
            conn.execute(statement)
    conn.close()


async def fetch(db: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a query (no parameters) on a store's database, read from outside."""
    if db.startswith("mysql://"):
        async with mysql_admin(db) as cur:
            await cur.execute(f"USE `{parse_mysql_url(db).database}`")
            await cur.execute(sql)
            return [tuple(r) for r in await cur.fetchall()]
    with sqlite3.connect(db) as conn:
        rows = [tuple(r) for r in conn.execute(sql).fetchall()]
    conn.close()
    return rows


SCHEMA_VERSIONS = [m.version for m in load_migrations("sqlite")]
"""Every schema version the code knows, oldest first (the same for both backends)."""
