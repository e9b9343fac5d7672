"""Sessions that survive a reconnect: session tokens on both stores, and presence
merged for version-2 connections."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv.accounts import token_digest
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.server import ChatServer
from tests.console import run
from tests.helpers import PASSWORD, Client, ManualClock, register, running_server
from tests.server.conftest import serving


async def console(server: ChatServer, line: str) -> str:
    return await run(CommandLine(Admin(server)), line)


async def with_token(port: int, user: str, token: str) -> m.LoginOk:
    client = await Client.connect(port)
    result: m.LoginOk = await client.call(m.Login, user=user, token=token)
    return result


async def refused(port: int, user: str, token: str) -> ErrorCode:
    client = await Client.connect(port)
    return (await client.fails(m.Login, user=user, token=token)).code


async def new_token(port: int, user: str) -> str:
    client = await Client.connect(port)
    result = await client.call(m.Login, user=user, password=PASSWORD)
    assert result.token is not None
    return str(result.token)


# -- tokens ------------------------------------------------------------------------------


async def test_a_token_logs_in_again_after_a_restart(any_db: str) -> None:
    async with running_server(any_db) as server:
        alice = await Client.connect(server.port)
        token = (await alice.call(m.Register, user="alice", password=PASSWORD)).token
        assert token is not None
        assert len(token) >= 43  # 256 bits, URL-safe base64
        other = await new_token(server.port, "alice")
        assert other != token
    async with running_server(any_db) as server:
        again = await with_token(server.port, "ALICE", token)
        assert (again.user, again.token) == ("alice", token)
        assert [r.name for r in again.rooms if r.state == "member"] == ["Général"]
        assert (await with_token(server.port, "alice", other)).token == other


async def test_the_store_keeps_only_a_digest(db_path: str) -> None:
    async with running_server(db_path) as server:
        client = await Client.connect(server.port)
        token = (await client.call(m.Register, user="alice", password=PASSWORD)).token
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT digest FROM sessions").fetchall()
        dump = "\n".join(conn.iterdump())
    conn.close()
    assert rows == [(token_digest(token),)]
    assert token not in dump


async def test_wrong_tokens_are_auth_failed(both: ChatServer) -> None:
    server = both
    await register(server.port, "alice")
    await register(server.port, "bob")
    token = await new_token(server.port, "alice")
    for user, bad in (
        ("alice", token[:-1] + ("A" if token[-1] != "A" else "B")),
        ("alice", "x"),
        ("bob", token),  # someone else's
        ("nobody", token),
    ):
        assert await refused(server.port, user, bad) is ErrorCode.AUTH_FAILED
    client = await Client.connect(server.port)
    password_and_token = await client.fails(m.Login, user="alice", password=PASSWORD, token=token)
    neither = await client.fails(m.Login, user="alice")
    assert password_and_token.code is neither.code is ErrorCode.BAD_REQUEST
    assert (await client.fails(m.Login, user="alice", token="t" * 129)).code is (
        ErrorCode.BAD_REQUEST
    )


async def test_logout_revokes_its_token_or_all_of_them(both: ChatServer) -> None:
    server = both
    await register(server.port, "alice")
    first, second, third = [await new_token(server.port, "alice") for _ in range(3)]
    client = await Client.connect(server.port)
    await client.call(m.Login, user="alice", token=first)
    await client.call(m.Logout)
    assert await refused(server.port, "alice", first) is ErrorCode.AUTH_FAILED
    assert (await with_token(server.port, "alice", second)).token == second
    client = await Client.connect(server.port)
    await client.call(m.Login, user="alice", token=second)
    await client.call(m.Logout, all=True)
    for token in (second, third):
        assert await refused(server.port, "alice", token) is ErrorCode.AUTH_FAILED
    assert (await new_token(server.port, "alice")) not in (first, second, third)


async def test_ban_and_kill_revoke_tokens_and_kick_refuses_them(both: ChatServer) -> None:
    server = both
    await register(server.port, "alice")
    token = await new_token(server.port, "alice")
    await console(server, "kick alice 10m calm down")
    assert await refused(server.port, "alice", token) is ErrorCode.KICKED
    await console(server, "unkick alice")
    assert (await with_token(server.port, "alice", token)).token == token
    await console(server, "ban alice spam")
    assert await refused(server.port, "alice", token) is ErrorCode.AUTH_FAILED
    client = await Client.connect(server.port)
    assert (await client.fails(m.Login, user="alice", password=PASSWORD)).code is (ErrorCode.BANNED)
    await console(server, "unban alice")
    assert await refused(server.port, "alice", token) is ErrorCode.AUTH_FAILED
    token = await new_token(server.port, "alice")
    online = await Client.connect(server.port)
    await online.call(m.Login, user="alice", token=token)
    await console(server, "kill alice stuck")
    assert await refused(server.port, "alice", token) is ErrorCode.AUTH_FAILED
    assert await new_token(server.port, "alice")  # the password, at once


async def test_tokens_expire_unused(db_path: str) -> None:
    clock = ManualClock()
    async with running_server(db_path, clock=clock, token_days=30) as server:
        await register(server.port, "alice")
        used, idle = await new_token(server.port, "alice"), await new_token(server.port, "alice")
        clock.advance(20 * 86_400)
        await with_token(server.port, "alice", used)  # used: its 30 days start again
        clock.advance(20 * 86_400)
        assert (await with_token(server.port, "alice", used)).token == used
        assert await refused(server.port, "alice", idle) is ErrorCode.AUTH_FAILED
        clock.advance(31 * 86_400)
        assert await refused(server.port, "alice", used) is ErrorCode.AUTH_FAILED


# -- merged presence ------------------------------------------------------------------


@pytest.fixture
async def held(backend: str, db_path: str, tmp_path: Path) -> AsyncIterator[ChatServer]:
    """A server whose presence window never ends by itself: the test flushes it (the
    window of one process: the tests given it are `single_node`)."""
    async with serving(
        backend, db_path, tmp_path, presence_window=3600.0, request_rate=0
    ) as running:
        yield running


async def watcher(port: int, name: str, **login: Any) -> Client:
    client = await Client.connect(port)
    await client.call(m.Register, user=name, password=PASSWORD, **login)
    return client


def presences(client: Client) -> list[m.Presence]:
    return [e for e in client.events if isinstance(e, m.Presence)]


@pytest.mark.single_node
async def test_version_2_gets_one_merged_presence_for_a_crowd(held: ChatServer) -> None:
    old = await watcher(held.port, "old")
    new = await watcher(held.port, "new", protocol=2)
    held.service.presence.flush()
    await new.sync()
    joined = presences(new)  # the window held both watchers: one merged event
    assert [(c.user, c.online) for e in joined for c in e.entries()] == [
        ("old", True),
        ("new", True),  # one's own user may be named: nothing to do about it
    ]
    new.events.clear()
    names = [f"u{i}" for i in range(6)]
    for name in names:
        await register(held.port, name)
    quick = await register(held.port, "quick")
    await quick.close()  # came and went inside the window
    await new.sync()
    held.service.presence.flush()
    await old.collect(m.Presence, 1 + len(names) + 2)
    await new.sync()
    (merged,) = presences(new)
    assert [(c.user, c.online) for c in merged.entries()] == [(n, True) for n in names]
    # Version 1 heard each one as before, `new` and `quick` included.
    heard = [(e.user, e.online) for e in presences(old)]
    assert heard == [
        ("new", True),
        *[(n, True) for n in names],
        ("quick", True),
        ("quick", False),
    ]


@pytest.mark.single_node
async def test_merged_presence_names_each_user_once_over_rooms(held: ChatServer) -> None:
    new = await watcher(held.port, "new", protocol=2)
    await new.call(m.Join, room="Blabla")
    alice = await register(held.port, "alice")
    await alice.call(m.Join, room="Blabla")
    held.service.presence.flush()
    await new.sync()
    new.events.clear()
    await alice.close()  # noted in Général and in Blabla
    await new.sync()
    held.service.presence.flush()
    again = await Client.connect(held.port)
    await again.call(m.Login, user="alice", password=PASSWORD)
    held.service.presence.flush()
    await new.sync()
    batches = [[(c.user, c.online) for c in e.entries()] for e in presences(new)]
    assert batches == [[("alice", False)], [("alice", True)]]
