"""Every console command through the executor, against a real server: answers and errors."""

from __future__ import annotations

import logging

import pytest

from chat_core import messages as m
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.passwords import PasswordHasher
from chat_srv.server import ChatServer
from chat_srv.store import open_store
from chat_srv.store.base import StoreUnavailable
from tests.console import run
from tests.helpers import FAST_ARGON2, PASSWORD, login, register, running_server


@pytest.fixture
def console(server: ChatServer) -> CommandLine:
    """The executor over a running server."""
    return CommandLine(Admin(server))


async def test_blank_line_prints_nothing(console: CommandLine) -> None:
    assert await run(console, "  ") == "\n"


async def test_help_lists_every_command_or_one(console: CommandLine) -> None:
    everything = await run(console, "help")
    for usage in ("messages <duration> [<room>]", "ban ip <address> <reason>", "shutdown"):
        assert usage in everything
    one = await run(console, "help kick")
    assert "kick <username> <duration> <reason>" in one
    assert "unkick" not in one
    both = await run(console, "help ban")
    assert "ban <username> <reason>" in both
    assert "ban ip <address> <reason>" in both
    wrong = await run(console, "help nothing")
    assert wrong.startswith("error: no command called nothing\nusage: help [<command>]")


async def test_unknown_command(console: CommandLine) -> None:
    shown = await run(console, "nonsense")
    assert shown == "error: unknown command nonsense; type help for the list\n"


async def test_users_and_rooms(server: ChatServer, console: CommandLine) -> None:
    assert (await run(console, "users")).strip() == "no user is connected"
    await register(server.port, "alice")
    users = await run(console, "users")
    assert "alice" in users
    assert "127.0.0.1" in users
    assert "Général" in users
    rooms = await run(console, "rooms")
    for name in ("Blabla", "Comptabilité", "Général", "Informatique", "Marketing"):
        assert name in rooms
    general = next(row for row in rooms.splitlines() if "Général" in row)
    assert general.split()[1:] == ["│", "open", "│", "1", "│", "0", "│", "1"]
    informatique = next(row for row in rooms.splitlines() if "Informatique" in row)
    assert "yes" in informatique


async def test_add_room(server: ChatServer, console: CommandLine) -> None:
    shown = await run(console, "add room Projets,Jeux open")
    assert shown == "added (open): Projets, Jeux\n"
    assert await run(console, "add room Secret") == "added (approval needed): Secret\n"
    rooms = await run(console, "rooms")
    assert "Projets" in rooms
    assert "Secret" in rooms


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("add room Nouveau,général", "a room called général exists"),
        ("add room Nouveau,nouveau", "a room called nouveau exists"),
        ("add room Nouveau,bad!name", "'bad!name': a room name is 1 to 60 letters"),
    ],
)
async def test_add_room_mistakes_create_nothing(
    server: ChatServer, console: CommandLine, line: str, message: str
) -> None:
    shown = await run(console, line)
    assert shown.startswith(f"error: {message}")
    assert "usage: add room <room1,room2,...> [open]" in shown
    assert "Nouveau" not in await run(console, "rooms")


async def test_pending_accept_reject(server: ChatServer, console: CommandLine) -> None:
    assert (await run(console, "pending rooms")).strip() == "no pending requests"
    alice = await register(server.port, "alice")
    for room in ("Informatique", "Marketing", "Comptabilité"):
        assert (await alice.call(m.Join, room=room)).state == "pending"
    listed = await run(console, "pending rooms ALICE")
    assert "Informatique" in listed
    assert "3 pending requests" in listed
    assert await run(console, "accept pending alice informatique") == (
        "accepted alice into Informatique\n"
    )
    assert await run(console, "reject pending alice Marketing") == (
        "rejected alice from Marketing\n"
    )
    assert await run(console, "accept pending alice all") == "accepted alice into Comptabilité\n"
    assert (await run(console, "pending rooms")).strip() == "no pending requests"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("pending rooms bob", "no user called bob"),
        ("accept pending bob Informatique", "no user called bob"),
        ("accept pending alice Nowhere", "no room called Nowhere"),
        ("accept pending alice Marketing", "alice has no pending request for Marketing"),
        (
            "accept pending alice Informatique,Marketing",
            "alice has no pending request for Marketing",
        ),
        ("reject pending alice Général", "alice has no pending request for Général"),
        ("reject pending alice all", None),
    ],
)
async def test_pending_mistakes_change_nothing(
    server: ChatServer, console: CommandLine, line: str, message: str | None
) -> None:
    alice = await register(server.port, "alice")
    await alice.call(m.Join, room="Informatique")
    if message is None:  # first empty the list, then `all` finds nothing
        await run(console, "reject pending alice all")
        message = "alice has no pending request"
    before = await run(console, "pending rooms")
    shown = await run(console, line)
    assert shown.startswith(f"error: {message}")
    assert "\nusage: " in shown
    assert await run(console, "pending rooms") == before


async def test_kick_unkick(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    shown = await run(console, "kick alice 10m flooding the room")
    assert shown.startswith("kicked alice for 10m, until ")
    assert shown.endswith("(1 connection closed): flooding the room\n")
    await alice.closed()
    bans = await run(console, "bans")
    assert "kick" in bans
    assert "flooding the room" in bans
    assert await run(console, "unkick Alice") == "unkicked alice: may log in again\n"
    assert (await run(console, "bans")).strip() == "no active kicks or bans"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("kick bob 10m rude", "no user called bob"),
        ("kick alice 2x rude", "bad duration 2x"),
        ("unkick alice", "alice is not kicked"),
        ("unkick bob", "no user called bob"),
        ("ban bob rude", "no user called bob"),
        ("unban alice", "alice is not banned"),
        ("unban ip 10.0.0.1", "10.0.0.1/32 is not banned"),
        ("kill bob rude", "no user called bob"),
        ("kill alice rude", "alice is not connected"),
    ],
)
async def test_moderation_mistakes_change_nothing(
    server: ChatServer, console: CommandLine, line: str, message: str
) -> None:
    alice = await register(server.port, "alice")
    await alice.call(m.Logout)  # offline once the reply is read
    await alice.closed()
    await alice.close()
    shown = await run(console, line)
    assert shown.startswith(f"error: {message}")
    assert "\nusage: " in shown
    assert (await run(console, "bans")).strip() == "no active kicks or bans"


async def test_ban_unban(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    await alice.call(m.Logout)
    await alice.closed()
    await alice.close()
    assert (
        await run(console, "ban alice spam bot")
        == "banned alice (0 connections closed): spam bot\n"
    )
    again = await run(console, "ban alice again")
    assert again.startswith("error: alice is already banned")
    assert "spam bot" in await run(console, "bans")
    assert await run(console, "unban alice") == "unbanned alice\n"


async def test_ban_ip_unban_ip(console: CommandLine) -> None:
    shown = await run(console, "ban ip 10.1.2.3/8 botnet")
    assert shown == "banned address 10.0.0.0/8 (0 connections closed): botnet\n"
    assert (await run(console, "ban ip 10.0.0.0/8 x")).startswith("error: 10.0.0.0/8 is already")
    bans = await run(console, "bans")
    assert "ip ban" in bans
    assert "10.0.0.0/8" in bans
    assert await run(console, "unban ip 10.9.9.9/8") == "unbanned address 10.0.0.0/8\n"
    assert await run(console, "ban ip ::1 loop") == (
        "banned address ::1/128 (0 connections closed): loop\n"
    )


async def test_kill(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    assert (
        await run(console, "kill alice go away") == "killed alice (1 connection closed): go away\n"
    )
    await alice.closed()
    assert (await run(console, "bans")).strip() == "no active kicks or bans"


async def test_notice(server: ChatServer, console: CommandLine) -> None:
    assert await run(console, "notice  maintenance at 18:00 ") == (
        "notice sent to 0 users: maintenance at 18:00\n"
    )
    await register(server.port, "alice")
    assert (await run(console, "notice hi")).startswith("notice sent to 1 user: hi")


async def test_messages(server: ChatServer, console: CommandLine) -> None:
    assert (await run(console, "messages 1m")).strip() == "no messages"
    alice = await register(server.port, "alice")
    await alice.call(m.Send, room="Général", body="bonjour à tous")
    shown = await run(console, "messages 1m")
    assert "bonjour à tous" in shown
    assert "alice" in shown
    assert "Général" in await run(console, "messages 1h général")
    assert (await run(console, "messages 1h Blabla")).strip() == "no messages"
    wrong = await run(console, "messages 1h Nowhere")
    assert wrong.startswith("error: no room called Nowhere\nusage: messages <duration> [<room>]")


async def test_user_text_is_shown_literally(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    for body in ("[bold red]x[/]", "[link=http://x]y[/link]"):
        await alice.call(m.Send, room="Général", body=body)
    shown = await run(console, "messages 1m")
    assert "[bold red]x[/]" in shown
    assert "[link=http://x]y[/link]" in shown
    # Control characters never reach clients: such a reason or notice is refused,
    # and nothing raw reaches the terminal.
    refused = await run(console, "kick alice 1h \x1b[31mred\x1b[0m")
    assert "\x1b" not in refused
    assert "control characters" in refused
    kicked = await run(console, "kick alice 1h [b]bold[/b] [red]x")
    assert "[b]bold[/b] [red]x" in kicked
    bans = await run(console, "bans")
    assert "[b]bold[/b] [red]x" in bans
    notice = await run(console, "notice \x1b]0;pwned\x07 hello")
    assert "\x1b" not in notice
    assert "control characters" in notice


# Invisible (zero-width space and joiner, byte order mark), reordering (RLO), and a
# line break: each must reach the administrator's terminal as an escape.
HIDDEN = "\u200b\u200d\ufeff\u202e\n"
SHOWN = "\\u200b\\u200d\\ufeff\\u202e\\n"
FORGED_ROW = "2025-03-01 09:00:00 │ Général │ admin │ fake line"


def _nothing_raw(shown: str) -> None:
    for char in HIDDEN.strip():
        assert char not in shown, f"U+{ord(char):04X} reached the terminal"


async def test_a_body_with_hidden_characters_is_one_escaped_row(
    server: ChatServer, console: CommandLine
) -> None:
    alice = await register(server.port, "alice")
    await alice.call(m.Send, room="Général", body=f"ok{HIDDEN}{FORGED_ROW}")
    await alice.call(m.Send, room="Général", body="first line\nsecond line\n\nlast")
    shown = await run(console, "messages 1m", width=200)
    _nothing_raw(shown)
    rows = [row.rstrip() for row in shown.splitlines() if "│" in row]
    assert len(rows) == 2  # one message, one row: the forged one is not a row
    assert rows[0].endswith(f"│ alice │ ok{SHOWN}{FORGED_ROW}")
    assert rows[1].endswith("│ alice │ first line\\nsecond line\\n\\nlast")
    assert not any(line.startswith("2025-03-01") for line in shown.splitlines())
    await alice.close()


async def _account_from_before(db: str, name: str) -> None:
    """An account made before its name was refused at registration: it still logs in."""
    store = open_store(db)
    await store.open()
    hasher = PasswordHasher(FAST_ARGON2)
    try:
        await store.create_user(name, await hasher.hash(PASSWORD), 0, None)
    finally:
        hasher.close()
        await store.close()


async def test_hidden_characters_in_names_reasons_and_notices_are_escaped(db_path: str) -> None:
    # A Hangul filler is a letter by category and prints as nothing: this name looks
    # like `mallory`. Refused at registration now, it may come from an older account.
    await _account_from_before(db_path, "mal\u3164lory")
    async with running_server(db_path) as server:
        await _hidden_characters_are_escaped(server, CommandLine(Admin(server)))


async def _hidden_characters_are_escaped(server: ChatServer, console: CommandLine) -> None:
    mallory = await login(server.port, "mal\u3164lory")
    assert "mal\\u3164lory" in await run(console, "users")
    wrong = await run(console, f"kick mallory{HIDDEN.strip()} 1h spam")
    assert wrong.startswith(f"error: no user called mallory{SHOWN[:-2]}\n")
    reason = f"spam{HIDDEN}more"
    kicked = await run(console, f"kick mal\u3164lory 1h {reason}")
    assert kicked.startswith("kicked mal\\u3164lory for 1h, until ")
    assert kicked.endswith(f"(1 connection closed): spam{SHOWN}more\n")
    assert kicked.count("\n") == 1
    bans = await run(console, "bans", width=200)
    _nothing_raw(bans)
    row = next(line for line in bans.splitlines() if line.startswith("kick"))
    assert "│ mal\\u3164lory │" in row
    assert f"│ spam{SHOWN}more │" in row
    await mallory.closed()
    await mallory.close()
    notice = await run(console, f"notice maintenance{HIDDEN}at 18:00")
    assert notice == f"notice sent to 0 users: maintenance{SHOWN}at 18:00\n"
    for line in (wrong, kicked, notice):
        _nothing_raw(line)


async def test_look_alike_spaces_are_escaped(server: ChatServer, console: CommandLine) -> None:
    shown = await run(console, "notice a\u00a0b\u3000c\u2028d")
    assert shown == "notice sent to 0 users: a\\xa0b\\u3000c\\u2028d\n"


async def test_storage_failure_is_one_line(
    server: ChatServer, console: CommandLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await register(server.port, "alice")

    async def unavailable(*args: object) -> None:
        raise StoreUnavailable("database is locked")

    monkeypatch.setattr(server.store, "add_sanction", unavailable)
    monkeypatch.setattr(server.store, "lift_sanctions", unavailable)
    monkeypatch.setattr(server.store, "create_room", unavailable)
    for line in ("kick alice 1h x", "ban alice x", "ban ip 10.0.0.1 x", "add room Neuve"):
        assert await run(console, line) == "error: storage unavailable; try again\n"
    await alice.sync()  # still connected
    assert (await run(console, "bans")).strip() == "no active kicks or bans"
    assert "Neuve" not in await run(console, "rooms")


async def test_a_bug_is_one_line_and_a_logged_traceback(
    console: CommandLine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("oops")

    monkeypatch.setattr(console.admin, "rooms", broken)
    with caplog.at_level(logging.ERROR):
        shown = await run(console, "rooms")
    assert shown == "error: rooms failed unexpectedly; see the log\n"
    assert "oops" in caplog.text


async def test_shutdown(server: ChatServer, console: CommandLine) -> None:
    alice = await register(server.port, "alice")
    assert await run(console, "shutdown") == "server stopped\n"
    assert server.stopped.is_set()
    shutdown = await alice.event(m.Disconnect)
    assert shutdown.reason == "shutdown"
