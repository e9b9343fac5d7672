"""Who may create an account: look-alike, invisible and reserved names, how many an
address may make, closed registration, and accounts made on the console."""

from __future__ import annotations

from typing import Any

import pytest

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_core.names import name_key
from chat_srv.admin import Admin
from chat_srv.config import Registration
from chat_srv.console.commands import CommandLine
from chat_srv.lookalikes import has_invisible, lookalike_keys
from chat_srv.passwords import PasswordHasher
from chat_srv.server import ChatServer
from tests.console import run
from tests.databases import make_old_database
from tests.helpers import (
    FAST_ARGON2,
    PASSWORD,
    Client,
    ManualClock,
    login,
    register,
    running_server,
)

LOOK_ALIKES = [
    "аlice",  # Cyrillic а
    "ａｌｉｃｅ",  # fullwidth
    "𝐚𝐥𝐢𝐜𝐞",  # mathematical bold
    "aⅼice",  # U+217C SMALL ROMAN NUMERAL FIFTY
    "ɑlice",  # Latin alpha
    "alıce",  # dotless i
    "alicᵉ",  # modifier small e
    "ALICE",  # the same name in capitals
    "aIice",  # capital I for l
]
INVISIBLE = ["alice\u3164", "alice\uffa0", "\u3164", "\u115f"]  # Hangul fillers
RESERVED = ["admin", "root", "system", "server", "console", "Аdmin"]  # the last: Cyrillic А


async def _refusal(port: int, name: str) -> str:
    client = await Client.connect(port)
    try:
        return str((await client.fails(m.Register, user=name, password=PASSWORD)).code)
    finally:
        await client.close()


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_look_alikes_share_a_key_with_the_original(name: str) -> None:
    assert lookalike_keys(name) & lookalike_keys("alice")


@pytest.mark.parametrize("name", ["alicia", "alice_", "al1ce", "Général", "bob"])
def test_different_names_do_not(name: str) -> None:
    assert not lookalike_keys(name) & lookalike_keys("alice")


def test_fillers_are_invisible() -> None:
    assert all(has_invisible(name) for name in INVISIBLE)
    assert not has_invisible("Amélie_東京-2")


async def test_names_that_look_like_a_taken_one_or_hide_characters_are_refused(
    db_path: str,
) -> None:
    async with running_server(db_path) as server:
        await register(server.port, "alice")
        for name in LOOK_ALIKES:
            assert await _refusal(server.port, name) == ErrorCode.USER_EXISTS, name
        for name in INVISIBLE:
            assert await _refusal(server.port, name) == ErrorCode.INVALID_NAME, name
        for name in RESERVED:
            assert await _refusal(server.port, name) == ErrorCode.USER_EXISTS, name
        await register(server.port, "alicia")  # a name of its own is fine
        client = await Client.connect(server.port)
        error = await client.fails(m.Register, user="аlice", password=PASSWORD)
        assert error.message == "аlice looks too much like alice, which is taken"


async def test_look_alikes_registering_at_once_give_one_account(server: ChatServer) -> None:
    clients = [await Client.connect(server.port) for _ in LOOK_ALIKES]
    ids = [
        await c.send_request(m.Register, user=name, password=PASSWORD)
        for c, name in zip(clients, LOOK_ALIKES, strict=True)
    ]
    replies = [await c.read_reply(i) for c, i in zip(clients, ids, strict=True)]
    assert sum(r.ok for r in replies) == 1
    assert {r.fields["code"] for r in replies if not r.ok} == {ErrorCode.USER_EXISTS}
    # The store: on a cluster, node 1 may not have heard of an account made elsewhere yet.
    assert len(await server.store.get_users()) == 1


async def test_accounts_from_before_the_rules_keep_working(db_path: str) -> None:
    # Made by an older server, as it would have let them be: schema 9, whose store
    # knew nothing of look-alikes. The server gives them their keys, oldest first.
    hasher = PasswordHasher(FAST_ARGON2)
    try:
        hashed = await hasher.hash(PASSWORD)
    finally:
        hasher.close()
    rows = ", ".join(
        f"({n}, '{name}', '{name_key(name)}', '{hashed}', {n})"
        for n, name in enumerate(("alice", "аlice", "admin"), start=1)
    )
    insert = f"INSERT INTO users (id, name, name_key, password_hash, created_at) VALUES {rows}"
    await make_old_database(db_path, 9, [insert])
    async with running_server(db_path) as server:
        for name in ("alice", "аlice", "admin"):
            await login(server.port, name)
        assert await _refusal(server.port, "ɑlice") == ErrorCode.USER_EXISTS


async def test_registrations_per_address_are_counted_from_the_start(db_path: str) -> None:
    clock = ManualClock()
    settings: dict[str, Any] = {"registrations_per_ip": 3, "limit_loopback": True}
    async with running_server(db_path, clock=clock, **settings) as server:
        clients = [await Client.connect(server.port) for _ in range(10)]
        ids = [
            await c.send_request(m.Register, user=f"new{n}", password=PASSWORD)
            for n, c in enumerate(clients)
        ]
        replies = [await c.read_reply(i) for c, i in zip(clients, ids, strict=True)]
        assert sum(r.ok for r in replies) == 3
        refused = [r.fields for r in replies if not r.ok]
        assert {r["code"] for r in refused} == {ErrorCode.RATE_LIMITED}
        assert all(0 < r["retry_after_ms"] <= 3_600_000 for r in refused)
        # Another address is not held back; this one is, until the hour is over.
        await register(server.port, "elsewhere", source="127.0.0.2")
        assert await _refusal(server.port, "later") == ErrorCode.RATE_LIMITED
        clock.advance(3600)
        await register(server.port, "later")


async def test_loopback_registers_freely_by_default(db_path: str) -> None:
    async with running_server(db_path, registrations_per_ip=1) as server:
        for n in range(3):
            await register(server.port, f"local{n}")


async def test_a_refused_registration_is_not_counted(db_path: str) -> None:
    settings: dict[str, Any] = {"registrations_per_ip": 1, "limit_loopback": True}
    async with running_server(db_path, **settings) as server:
        await register(server.port, "alice", source="127.0.0.2")
        assert await _refusal(server.port, "ALICE") == ErrorCode.USER_EXISTS  # from 127.0.0.1
        await register(server.port, "bob")


async def test_closed_registration_leaves_accounts_to_the_console(db_path: str) -> None:
    async with running_server(db_path, registration=Registration.CLOSED) as server:
        assert await _refusal(server.port, "alice") == ErrorCode.FORBIDDEN
        console = CommandLine(Admin(server))
        shown = await run(console, "add user alice")
        assert shown.startswith("added user alice; its password, shown only this once: ")
        password = shown.rstrip("\n").rsplit(" ", 1)[1]
        assert len(password) >= 16
        alice = await login(server.port, "alice", password)
        rooms = {r.name: r.state for r in (await alice.call(m.ListRooms)).rooms}
        assert rooms["Général"] == "member"
        # The console keeps the name rules; reserved names are for the administrator.
        assert (await run(console, "add user аlice")).startswith(
            "error: аlice looks too much like alice, which is taken"
        )
        assert (await run(console, "add user admin")).startswith("added user admin;")
        assert (await run(console, "add user bad,name")).startswith("error: 'bad,name': a user")


async def test_the_console_refuses_look_alike_and_invisible_rooms(db_path: str) -> None:
    async with running_server(db_path) as server:
        console = CommandLine(Admin(server))
        assert (await run(console, "add room Généraⅼ")).startswith(
            "error: Généraⅼ looks too much like the room Général"
        )
        assert (await run(console, "add room Jeux\u3164")).startswith("error: ")
        assert (await run(console, "add room Jeux")).startswith("added")
        assert [r.name for r in server.service.rooms.values()].count("Jeux") == 1
