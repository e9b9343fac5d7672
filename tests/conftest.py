"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_srv.server import ChatServer
from tests.helpers import running_server


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return str(tmp_path / "chat.db")


@pytest.fixture
async def server(db_path: str) -> AsyncIterator[ChatServer]:
    """A real server on 127.0.0.1, on a fresh SQLite database."""
    async with running_server(db_path) as running:
        yield running
