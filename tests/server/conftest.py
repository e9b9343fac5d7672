"""The end-to-end servers: each test given `server`, `unlimited_server`, `both` or
`timed` also runs against a cluster, unless it is marked `single_node`; `cluster_bug(reason)`
says its `[cluster]` variant fails for a known reason (a strict xfail).

`[cluster]` is three nodes on a fresh MariaDB database and a private Redis, behind a
round-robin front (`tests.front`): consecutive connections land on different nodes,
as behind any TCP load balancer. The test gets node 1, whose `port` is the front's;
its store, configuration and console are node 1's.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chat_srv.server import ChatServer
from tests.cluster.conftest import RedisServer, cluster
from tests.databases import mysql_database, mysql_server_url
from tests.front import FrontedNode, running_front
from tests.helpers import ManualClock, running_server

NODES = 3
CLUSTER = pytest.param("cluster", marks=pytest.mark.mysql)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`backend` for the tests given a server: SQLite (MySQL too for `both`), then the
    cluster, which a test marked `single_node` does without."""
    if "backend" not in metafunc.fixturenames:  # through the fixtures below
        return
    backends: list[Any] = ["sqlite"]
    if "both" in metafunc.fixturenames:
        backends.append(pytest.param("mysql", marks=pytest.mark.mysql))
    if metafunc.definition.get_closest_marker("single_node") is None:
        bug = metafunc.definition.get_closest_marker("cluster_bug")
        if bug is None:
            backends.append(CLUSTER)
        else:
            marks = [pytest.mark.mysql, pytest.mark.xfail(strict=True, reason=bug.args[0])]
            backends.append(pytest.param("cluster", marks=marks))
    metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """What the server runs on: "sqlite", "mysql" or "cluster"."""
    kind: str = request.param
    return kind


@contextlib.asynccontextmanager
async def serving(
    backend: str, db_path: str, tmp_path: Path, **overrides: Any
) -> AsyncIterator[ChatServer]:
    """A server on `backend`; for a cluster, node 1 with the front's port."""
    if backend == "sqlite":
        async with running_server(db_path, **overrides) as running:
            yield running
        return
    async with contextlib.AsyncExitStack() as stack:
        db = await stack.enter_async_context(mysql_database(mysql_server_url()))
        if backend == "mysql":
            yield await stack.enter_async_context(running_server(db, **overrides))
            return
        redis = RedisServer(tmp_path)
        stack.push_async_callback(redis.stop)
        await redis.start()
        nodes = await stack.enter_async_context(
            cluster(db, redis.url, NODES, server_type=FrontedNode, **overrides)
        )
        first = nodes[0]
        assert isinstance(first, FrontedNode)
        front = await stack.enter_async_context(running_front([node.port for node in nodes]))
        first.front = front
        try:
            yield first
        finally:
            first.front = None


@pytest.fixture
async def server(backend: str, db_path: str, tmp_path: Path) -> AsyncIterator[ChatServer]:
    """A real server on 127.0.0.1: on a fresh SQLite database, or a cluster."""
    async with serving(backend, db_path, tmp_path) as running:
        yield running


@pytest.fixture
async def unlimited_server(backend: str, db_path: str, tmp_path: Path) -> AsyncIterator[ChatServer]:
    """A real server with no request rate limit, for tests that pipeline many requests."""
    async with serving(backend, db_path, tmp_path, request_rate=0) as running:
        yield running


@pytest.fixture
async def both(backend: str, db_path: str, tmp_path: Path) -> AsyncIterator[ChatServer]:
    """A server on each backend (SQLite, MySQL), and a cluster; no request rate limit."""
    async with serving(backend, db_path, tmp_path, request_rate=0) as running:
        yield running


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves when the test says; a cluster's nodes share it."""
    return ManualClock()


@pytest.fixture
async def timed(
    backend: str, db_path: str, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[ChatServer]:
    """A server (SQLite, or a cluster) whose clock moves only when the test says."""
    async with serving(backend, db_path, tmp_path, clock=clock, request_rate=0) as running:
        yield running
