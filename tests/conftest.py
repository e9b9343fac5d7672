"""Fixtures shared by every test directory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chat_srv.server import ChatServer
from tests.databases import mysql_database, mysql_server_url
from tests.helpers import closing_clients, running_server

pytest_plugins = ["pytester"]  # tests/test_isolation.py runs pytest on inner test modules


@pytest.fixture(autouse=True)
async def close_test_clients() -> AsyncIterator[None]:
    """Every test client (`tests.helpers.Client`) is closed at teardown, pass or fail."""
    async with closing_clients():
        yield


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return str(tmp_path / "chat.db")


@pytest.fixture
async def server(db_path: str) -> AsyncIterator[ChatServer]:
    """A real server on 127.0.0.1, on a fresh SQLite database."""
    async with running_server(db_path) as running:
        yield running


@pytest.fixture
async def unlimited_server(db_path: str) -> AsyncIterator[ChatServer]:
    """A real server with no request rate limit, for tests that pipeline many requests."""
    async with running_server(db_path, request_rate=0) as running:
        yield running


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database on each backend: an SQLite file, then a MySQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "chat.db")
        return
    async with mysql_database(mysql_server_url()) as url:
        yield url


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """Undo `configure_logging` after a test: its handler and the levels it set."""
    root = logging.getLogger()
    ours = logging.getLogger("chat_srv")
    handlers, root_level, our_level = list(root.handlers), root.level, ours.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(root_level)
    ours.setLevel(our_level)
