"""Fixtures for the store tests: an open store on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_srv.store import Store, open_store
from tests.databases import mysql_database, mysql_server_url


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
async def store_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The `--db` string of an empty database, for each backend."""
    if request.param == "sqlite":
        yield str(tmp_path / "chat.db")
        return
    async with mysql_database(mysql_server_url()) as url:
        yield url


@pytest.fixture
async def store(store_db: str) -> AsyncIterator[Store]:
    """An open store on an empty database, for each backend."""
    opened = open_store(store_db)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def mysql_db() -> AsyncIterator[str]:
    """The URL of an empty MySQL database (MySQL-only tests)."""
    async with mysql_database(mysql_server_url()) as url:
        yield url
