"""A private Redis for each cluster test, and a cluster of server nodes on MariaDB."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chat_srv.server import ChatServer
from tests.databases import mysql_database, mysql_server_url
from tests.helpers import running_server

STARTUP = 10.0  # seconds redis-server may take to accept connections

SERVER_ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
"""redis-server's environment: not the test's id, which a long parameter makes too
long for a variable (E2BIG at exec)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A `redis-server` of our own on 127.0.0.1, which a test may stop and start."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self._directory = directory
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.fail("cluster tests need redis-server (apt-get install redis-server)")
        self._process = await asyncio.create_subprocess_exec(
            executable,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self._directory),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=SERVER_ENVIRONMENT,
        )  # fmt: skip
        async with asyncio.timeout(STARTUP):
            while True:  # ready when it answers PING
                with contextlib.suppress(OSError):
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.write(b"PING\r\n")
                    answer = await reader.readline()
                    writer.close()
                    if answer.startswith(b"+PONG"):
                        return
                await asyncio.sleep(0.02)

    async def command(self, *args: str) -> bytes:
        """Send one command on a connection of its own; the first line of the answer
        (`+OK`, `:3`, `-ERR …`)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            words = [a.encode() for a in args]
            writer.write(
                b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)
            )
            await writer.drain()
            async with asyncio.timeout(STARTUP):
                return await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def cluster(
    db: str, broker: str, nodes: int, **overrides: Any
) -> AsyncIterator[list[ChatServer]]:
    """`nodes` servers on one MySQL database, joined through the broker at `broker`."""
    async with contextlib.AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(
                running_server(db, cluster=broker, node_id=f"node-{n}", **overrides)
            )
            for n in range(1, nodes + 1)
        ]
        yield servers


@pytest.fixture
async def mysql_db() -> AsyncIterator[str]:
    async with mysql_database(mysql_server_url()) as url:
        yield url
