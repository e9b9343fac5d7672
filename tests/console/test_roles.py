"""Roles: `op` and `deop` on the console, and the `moderate` request for moderators and
admins, over real sockets on both stores."""

from __future__ import annotations

import logging

import pytest

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode
from chat_core.messages import Role
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.roles import MODERATOR_COMMANDS, may_run
from chat_srv.server import ChatServer
from tests.console import run
from tests.helpers import Client, login, register, running_server


def console(server: ChatServer) -> CommandLine:
    return CommandLine(Admin(server))


async def test_op_and_deop_survive_a_restart(any_db: str) -> None:
    async with running_server(any_db) as server:
        await register(server.port, "mia")
        await register(server.port, "boss")
        assert await run(console(server), "op mia moderator") == "mia is now moderator\n"
        assert await run(console(server), "op boss admin") == "boss is now admin\n"
        assert (await run(console(server), "op mia moderator")).startswith(
            "error: mia is already moderator"
        )
        assert (await run(console(server), "op mia king")).startswith(
            "error: a role is moderator or admin, not king"
        )
    async with running_server(any_db) as server:
        mod = await login(server.port, "mia")
        who = {u.name: u.role for u in (await mod.call(m.Who, room="Général")).users}
        assert who == {"mia": "moderator", "boss": "admin"}
        assert await run(console(server), "deop boss") == "boss is a plain user again\n"
    async with running_server(any_db) as server:
        boss = await Client.connect(server.port)
        reply = await boss.call(m.Login, user="boss", password="correct horse")
        assert reply.role == Role.USER
        assert (await boss.fails(m.Moderate, command="users")).code == ErrorCode.FORBIDDEN


async def test_a_moderator_moderates_with_the_consoles_language(
    db_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_server(db_path) as server:
        await register(server.port, "mia")
        troll = await register(server.port, "troll")
        await run(console(server), "op mia moderator")
        mod = await login(server.port, "mia")
        with caplog.at_level(logging.INFO, logger="chat_srv"):
            done = await mod.call(m.Moderate, command="kick troll 10m spam")
        assert done.lines[0].startswith("kicked troll for 10m, until ")
        goodbye = await troll.event(m.Disconnect)
        assert goodbye.reason == DisconnectReason.KICKED
        assert "moderate by mia (moderator): 'kick troll 10m spam' (done)" in caplog.text
        assert "mia (moderator): kicked troll until" in caplog.text
        [kick] = server.service.sanctions.active(server.service.clock.now_ms())
        assert kick.created_by == "mia"
        # The console's own mistakes, in the console's own words.
        wrong = await mod.fails(m.Moderate, command="kick troll 10 spam")
        assert wrong.code == ErrorCode.BAD_REQUEST
        assert wrong.message.splitlines() == [
            "bad duration 10: a duration is a whole number and a unit: 30s, 10m, 2h, 7d or 1y",
            "usage: kick <username> <duration> <reason>",
        ]
        # Not a moderator's: IP bans, roles, shutdown.
        for line in ("ban ip 10.0.0.0/8 spam", "op troll admin", "shutdown", "add room X"):
            refused = await mod.fails(m.Moderate, command=line)
            assert refused.code == ErrorCode.FORBIDDEN, line
            assert "is not for mia (moderator)" in refused.message
        helped = await mod.call(m.Moderate, command="help")
        assert any(line.startswith("kick ") for line in helped.lines)
        assert not any(line.startswith(("shutdown", "ban ip", "op ")) for line in helped.lines)
        assert server.stopped.is_set() is False


async def test_an_admin_may_do_all_but_shut_down(db_path: str) -> None:
    async with running_server(db_path) as server:
        await register(server.port, "boss")
        await register(server.port, "newbie")
        await run(console(server), "op boss admin")
        boss = await login(server.port, "boss")
        assert (await boss.call(m.Moderate, command="op newbie moderator")).lines == [
            "newbie is now moderator"
        ]
        added = await boss.call(m.Moderate, command="add room Projets", width=60)
        assert added.lines == ["added (approval needed): Projets"]
        for line in ("shutdown", "backup /tmp/chat-copy.db"):
            refused = await boss.fails(m.Moderate, command=line)
            assert refused.code == ErrorCode.FORBIDDEN, line


async def test_a_role_change_applies_to_open_connections_at_once(db_path: str) -> None:
    async with running_server(db_path) as server:
        mod = await register(server.port, "mia")
        assert (await mod.fails(m.Moderate, command="users")).code == ErrorCode.FORBIDDEN
        await run(console(server), "op mia moderator")
        assert (await mod.call(m.Moderate, command="users")).lines
        await run(console(server), "deop mia")
        assert (await mod.fails(m.Moderate, command="users")).code == ErrorCode.FORBIDDEN


async def test_moderate_refuses_what_is_not_one_line(db_path: str) -> None:
    async with running_server(db_path) as server:
        user = await register(server.port, "mia")
        await run(console(server), "op mia moderator")
        error = await user.fails(m.Moderate, command="users\nshutdown")
        assert error.code == ErrorCode.BAD_REQUEST
        assert not server.stopped.is_set()


def test_the_permission_table() -> None:
    assert may_run(None, "shutdown")
    assert may_run(Role.ADMIN, "op")
    assert not may_run(Role.ADMIN, "shutdown")
    assert may_run(Role.MODERATOR, "kick")
    assert not may_run(Role.MODERATOR, "ban ip")
    assert not may_run(Role.USER, "users")
    assert {"kick", "ban", "unban", "kill", "notice", "messages"} <= MODERATOR_COMMANDS
