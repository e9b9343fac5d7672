"""Console commands end to end: what connected clients see over real sockets."""

from __future__ import annotations

import pytest

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.server import ChatServer
from tests.console import run
from tests.helpers import PASSWORD, Client, ManualClock, login, register, running_server


@pytest.fixture
def console(server: ChatServer) -> CommandLine:
    """The executor over a running server."""
    return CommandLine(Admin(server))


async def _goodbye(client: Client) -> m.Disconnect:
    """The `disconnect` a client got before the server closed it."""
    event = await client.event(m.Disconnect)
    await client.closed()
    await client.close()
    return event


async def test_kick_disconnects_refuses_until_expiry_then_allows(db_path: str) -> None:
    clock = ManualClock()
    async with running_server(db_path, clock=clock) as server:
        await _kick_until_expiry(server, CommandLine(Admin(server)), clock)


async def _kick_until_expiry(server: ChatServer, console: CommandLine, clock: ManualClock) -> None:
    first = await register(server.port, "alice")
    second = await login(server.port, "alice")
    bob = await register(server.port, "bob")
    assert "2 connections closed" in await run(console, "kick alice 1s cool down")
    until = None
    for conn in (first, second):
        bye = await _goodbye(conn)
        assert bye.reason is DisconnectReason.KICKED
        assert "cool down" in bye.text
        assert bye.until is not None
        until = bye.until
    assert until is not None
    await bob.sync()  # bob is untouched

    client = await Client.connect(server.port)
    refused = await client.fails(m.Login, user="alice", password=PASSWORD)
    assert refused.code is ErrorCode.KICKED
    assert refused.details["until"] == until
    assert refused.details["reason"] == "cool down"
    clock.advance(0.999)
    assert (await client.fails(m.Login, user="alice", password=PASSWORD)).code is ErrorCode.KICKED
    clock.advance(0.001)  # the kick's last millisecond is over
    assert (await client.call(m.Login, user="alice", password=PASSWORD)).user == "alice"


async def test_unkick_lifts_the_kick_early(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    await run(console, "kick alice 1h later")
    await _goodbye(alice)
    client = await Client.connect(server.port)
    assert (await client.fails(m.Login, user="alice", password=PASSWORD)).code is ErrorCode.KICKED
    await run(console, "unkick alice")
    await client.call(m.Login, user="alice", password=PASSWORD)


async def test_ban_until_unban(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    await run(console, "ban alice too many adverts")
    bye = await _goodbye(alice)
    assert bye.reason is DisconnectReason.BANNED
    assert bye.until is None
    assert "too many adverts" in bye.text
    client = await Client.connect(server.port)
    refused = await client.fails(m.Login, user="ALICE", password=PASSWORD)
    assert refused.code is ErrorCode.BANNED
    assert refused.details["reason"] == "too many adverts"
    await run(console, "unban alice")
    await client.call(m.Login, user="alice", password=PASSWORD)


async def test_sanctions_outlive_a_restart(db_path: str) -> None:
    async with running_server(db_path) as server:
        alice = await register(server.port, "alice")
        await run(CommandLine(Admin(server)), "ban alice spam")
        await _goodbye(alice)
        await run(CommandLine(Admin(server)), "ban ip 192.0.2.0/24 spam")
    async with running_server(db_path) as server:
        bans = await run(CommandLine(Admin(server)), "bans")
        assert "alice" in bans
        assert "192.0.2.0/24" in bans
        client = await Client.connect(server.port)
        assert (
            await client.fails(m.Login, user="alice", password=PASSWORD)
        ).code is ErrorCode.BANNED


async def test_ban_ip_closes_open_and_refuses_new_connections(
    server: ChatServer, console: CommandLine
) -> None:
    alice = await register(server.port, "alice")
    anonymous = await Client.connect(server.port)
    await anonymous.call(m.Ping)
    assert "2 connections closed" in await run(console, "ban ip 127.0.0.0/8 loopback abuse")
    for conn in (alice, anonymous):
        bye = await _goodbye(conn)
        assert bye.reason is DisconnectReason.BANNED
        assert "loopback abuse" in bye.text

    newcomer = await Client.connect(server.port)
    await newcomer.closed()  # at once, before any request
    [refusal] = newcomer.events
    assert isinstance(refusal, m.Disconnect)
    assert refusal.reason is DisconnectReason.BANNED
    await newcomer.close()

    assert await run(console, "unban ip 127.0.0.1/8") == "unbanned address 127.0.0.0/8\n"
    await login(server.port, "alice")  # welcome again


async def test_ban_of_another_network_spares_us(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    assert "0 connections closed" in await run(console, "ban ip 10.0.0.0/8 elsewhere")
    await alice.sync()


async def test_kill_lets_the_user_back_at_once(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    await run(console, "kill alice reconnect please")
    bye = await _goodbye(alice)
    assert bye.reason is DisconnectReason.KILLED
    assert "reconnect please" in bye.text
    await login(server.port, "alice")  # at once


async def test_accept_pending_makes_a_member(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    assert (await alice.call(m.Join, room="Informatique")).state == "pending"
    refused = await alice.fails(m.Send, room="Informatique", body="hello?")
    assert refused.code is ErrorCode.NOT_MEMBER
    await run(console, "accept pending alice Informatique")
    changed = await alice.event(m.Membership)
    assert (changed.room, changed.state) == ("Informatique", "member")
    joined = await alice.event(m.Member, room="Informatique")
    assert (joined.user, joined.joined) == ("alice", True)
    sent = await alice.call(m.Send, room="Informatique", body="hello!")
    got = await alice.event(m.Message, msg_id=sent.msg_id)
    assert got.room == "Informatique"
    rooms = {info.name: info for info in (await alice.call(m.ListRooms)).rooms}
    assert rooms["Informatique"].state == "member"


async def test_reject_pending_says_none(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    await alice.call(m.Join, room="Marketing")
    await alice.call(m.Join, room="Comptabilité")
    await run(console, "reject pending alice all")
    states = {e.room: e.state for e in await alice.collect(m.Membership, 2)}
    assert states == {"Comptabilité": "none", "Marketing": "none"}
    rooms = {info.name: info for info in (await alice.call(m.ListRooms)).rooms}
    assert rooms["Marketing"].state == "none"
    refused = await alice.fails(m.Send, room="Marketing", body="hello?")
    assert refused.code is ErrorCode.NOT_MEMBER


async def test_add_room_is_announced(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    bob = await register(server.port, "bob")
    await run(console, "add room Projets")
    await run(console, "add room Jeux,Cinéma open")
    for client in (alice, bob):
        added = await client.event(m.RoomAdded, room="Projets")
        assert added.approval is True
        assert (await client.event(m.RoomAdded, room="Jeux")).approval is False
        assert (await client.event(m.RoomAdded, room="Cinéma")).approval is False
    assert (await alice.call(m.Join, room="jeux")).state == "member"
    assert (await bob.call(m.Join, room="Projets")).state == "pending"
    names = [info.name for info in (await alice.call(m.ListRooms)).rooms]
    assert {"Projets", "Jeux", "Cinéma"} <= set(names)


async def test_notice_reaches_every_logged_in_user(
    server: ChatServer, console: CommandLine
) -> None:
    alice = await register(server.port, "alice")
    second = await login(server.port, "alice")
    bob = await register(server.port, "bob")
    assert "notice sent to 2 users" in await run(console, "notice restart at 18:00, sorry")
    for client in (alice, second, bob):
        assert (await client.event(m.Notice)).text == "restart at 18:00, sorry"


async def test_console_mistakes_reach_no_client(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    for line in ("kick alice 5q x", "ban ip 1.2.3 x", "add room bad!", "notice", "kill bob x"):
        assert (await run(console, line)).startswith("error: ")
    await alice.sync()
    assert not [e for e in alice.events if not isinstance(e, m.Member)]
