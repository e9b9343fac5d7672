"""The data layer on its own: commands, state, rendering, settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode, ProtocolError
from chat_tui.cli import ssl_context
from chat_tui.commands import Command, Invalid, completions, parse
from chat_tui.config import LastUsed, Settings, format_address, parse_address
from chat_tui.conversation import Target, mentions
from chat_tui.render import (
    PALETTE,
    describe_disconnect,
    describe_error,
    message_text,
    name_colour,
    plain,
)
from chat_tui.state import ChatState

TS = int(datetime(2025, 6, 3, 9, 5, tzinfo=UTC).timestamp() * 1000)


def msg(msg_id: int, sender: str = "bob", body: str = "hi", room: str = "Général") -> m.Message:
    return m.Message(msg_id=msg_id, ts=TS, sender=sender, body=body, room=room)


def login_reply() -> m.LoginOk:
    rooms = [
        m.RoomInfo(
            name="Général", approval=False, state=m.MEMBER, online=2, last_msg_id=5, unread=1
        ),
        m.RoomInfo(name="Blabla", approval=False, state=m.NONE, online=0, last_msg_id=0),
        m.RoomInfo(name="Marketing", approval=True, state=m.PENDING, online=0, last_msg_id=0),
    ]
    dms = [m.DmInfo(peer="carol", last_msg_id=4, unread=2)]
    return m.LoginOk(id=1, user="alice", rooms=rooms, dms=dms, server_time=TS)


# -- commands -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", None),
        ("   ", None),
        ("hello", Command("say", text="hello")),
        ("//me waves", Command("say", text="/me waves")),
        ("/join Blabla", Command("/join", ("Blabla",))),
        ("/JOIN Blabla", Command("/join", ("Blabla",))),
        ("/leave", Command("/leave")),
        ("/msg bob hello there", Command("/msg", ("bob",), "hello there")),
        ("/msg bob", Command("/msg", ("bob",), "")),
        ("/who", Command("/who")),
        ("/quit", Command("/quit")),
        ("/join", Invalid("usage: /join ROOM")),
        ("/join a b", Invalid("usage: /join ROOM")),
        ("/msg", Invalid("usage: /msg USER [TEXT]")),
        ("/rooms now", Invalid("usage: /rooms")),
        ("/dance", Invalid("unknown command /dance (/help lists them)")),
        ("/who\nis here?", Invalid("usage: /who")),
        ("/etc/hosts:\n127.0.0.1", Invalid("unknown command /etc/hosts: (/help lists them)")),
        ("//etc/hosts:\n127.0.0.1", Command("say", text="/etc/hosts:\n127.0.0.1")),
        ("see:\n/join x", Command("say", text="see:\n/join x")),
        ("/me waves\nand smiles", Command("/me", text="waves\nand smiles")),
    ],
)
def test_parse(line: str, expected: Command | Invalid | None) -> None:
    assert parse(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/j", (0, ["/join"])),
        (
            "/",
            (
                0,
                [
                    *("/away", "/back", "/clear", "/help", "/join", "/leave", "/logout"),
                    *("/me", "/msg", "/names", "/part", "/query", "/quit", "/react"),
                    *("/rooms", "/search", "/who"),
                ],
            ),
        ),
        ("/join bl", (6, ["Blabla"])),
        ("/join gé", (6, ["Général"])),
        ("/msg B", (5, ["bob", "Bruno"])),
        ("hello @b", (6, ["@bob", "@Bruno"])),
        ("b", (0, ["bob:", "Bruno:"])),
        ("@b", (0, ["@bob", "@Bruno"])),
        ("hi al", (3, ["alice"])),
        ("first line\nal", (11, ["alice"])),
        ("/who x", (5, [])),
        ("hi z", (3, [])),
    ],
)
def test_completions(line: str, expected: tuple[int, list[str]]) -> None:
    users, rooms = ["alice", "bob", "Bruno"], ["Blabla", "Général"]
    assert completions(line, len(line), users, rooms) == expected


# -- state ----------------------------------------------------------------------------


def test_login_builds_the_sidebar() -> None:
    state = ChatState.from_login(login_reply())
    labels = [(conv.target.label, conv.state, conv.unread) for conv in state.sidebar()]
    assert labels == [
        ("#Général", m.MEMBER, 1),
        ("#Marketing", m.PENDING, 0),
        ("@carol", m.MEMBER, 2),
    ]
    assert state.openable() == [Target.room("général"), Target.dm("CAROL")]


def test_messages_are_kept_once_and_in_order() -> None:
    state = ChatState.from_login(login_reply())
    conv = state.conversation(Target.room("Général"))
    assert conv is not None
    assert conv.add([msg(9), msg(7)]) == [msg(7), msg(9)]
    assert conv.add([msg(8), msg(9), msg(7)]) == [msg(8)]
    assert [message.msg_id for message in conv.messages] == [7, 8, 9]
    change = state.apply(msg(9))
    assert change.added == []


def test_unread_counts_follow_events() -> None:
    state = ChatState.from_login(login_reply())
    general = state.conversation(Target.room("Général"))
    assert general is not None
    state.current = Target.dm("carol")
    change = state.apply(msg(10, body="hello alice!"))
    assert (general.unread, change.sidebar) == (2, True)
    assert change.alert_title == "bob mentioned you in Général"
    assert state.apply(msg(11, sender="alice")).alert is None  # one's own message
    assert general.unread == 2
    state.apply(m.Read(room="Général", msg_id=11))
    assert general.unread == 0
    state.current = Target.room("Général")
    state.apply(msg(12))
    assert general.unread == 0  # in view
    dm = state.apply(m.Message(msg_id=13, ts=TS, sender="dave", body="yo", to="alice"))
    assert (dm.alert_title, dm.alert) == ("Direct message from dave", "yo")
    assert [conv.target.label for conv in state.sidebar()][-1] == "@dave"


def test_membership_presence_and_members() -> None:
    state = ChatState.from_login(login_reply())
    state.set_members("Général", [m.UserInfo(name="alice", online=True)])
    state.apply(m.Presence(user="bob", online=True))
    state.apply(m.Member(room="Général", user="bob", joined=True))
    assert state.members["général"]["bob"].online
    state.apply(m.Presence(user="bob", online=False))
    assert not state.members["général"]["bob"].online
    accepted = state.apply(m.Membership(room="Marketing", state=m.MEMBER))
    assert accepted.info == "You are now a member of Marketing."
    assert Target.room("Marketing") in state.openable()
    state.current = Target.room("Marketing")
    removed = state.apply(m.Membership(room="Marketing", state=m.NONE))
    assert removed.info == "You were removed from Marketing."
    assert state.current is None
    state.apply(m.Member(room="Général", user="alice", joined=False))
    assert state.conversation(Target.room("Général")) is None


def test_mentions_are_whole_names() -> None:
    assert mentions("hi @alice, and ALICE.", "alice") == [(3, 9), (15, 20)]
    assert mentions("malice alice_b alice-x", "alice") == []


# -- rendering ------------------------------------------------------------------------


def render(text: Text) -> str:
    console = Console(width=200, force_terminal=True, color_system="truecolor")
    with console.capture() as capture:
        console.print(text, end="")
    return capture.get()


def test_markup_in_a_body_stays_text() -> None:
    text = message_text(msg(1, body="[bold red]x[/] :smile:"), me="alice", tz=UTC)
    assert text.plain == "09:05 bob [bold red]x[/] :smile:"
    assert not any("red" in str(span.style) for span in text.spans)


def test_escape_sequences_are_shown_not_sent() -> None:
    body = "a\x1b[2Jb\x07c\x9bd\x7fe\tf\ng"
    text = message_text(msg(1, body=body), me="alice", tz=UTC)
    assert text.plain == "09:05 bob a␛[2Jb␇c\\x9bd␡e\tf\ng"
    assert "\x1b[2J" not in render(text)
    assert "\x07" not in render(text)
    assert plain("\x00\x1f") == "␀␟"


def test_mentions_are_highlighted_and_names_coloured() -> None:
    text = message_text(msg(1, body="ping @alice"), me="alice", tz=UTC)
    styled = [(text.plain[span.start : span.end], str(span.style)) for span in text.spans]
    assert ("@alice", "bold reverse") in styled
    assert ("bob", f"bold {name_colour('bob')}") in styled
    assert name_colour("Bob") == name_colour("bob")
    assert name_colour("bob") in PALETTE
    assert len({name_colour(name) for name in ("alice", "bob", "carol", "dave", "eve")}) > 1


def test_errors_and_goodbyes_in_plain_words() -> None:
    until = TS + 3_600_000
    kicked = ProtocolError(ErrorCode.KICKED, "kicked", until=until, reason="spam")
    assert describe_error(kicked, UTC) == "You were kicked until 10:05 on 3 June 2025. Reason: spam"
    banned = ProtocolError(ErrorCode.BANNED, "banned", reason="[b]x[/b]")
    assert describe_error(banned, UTC) == "This account is banned: [b]x[/b]."
    busy = ProtocolError(ErrorCode.RATE_LIMITED, "too many login attempts", retry_after_ms=1500)
    assert describe_error(busy, UTC) == "Slow down: too many login attempts. Try again in 2 s."
    taken = ProtocolError(ErrorCode.USER_EXISTS, "аlice looks too much like alice, which is taken")
    assert describe_error(taken, UTC) == (
        "That user name is not available (аlice looks too much like alice, which is taken);"
        " choose another one."
    )
    goodbye = m.Disconnect(reason=DisconnectReason.KICKED, text="you are kicked: spam", until=until)
    assert describe_disconnect(goodbye, UTC) == (
        "You were kicked",
        "Reason: spam\nUntil 10:05 on 3 June 2025 (local time).",
    )


# -- settings and options -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.org", ("example.org", 7878)),
        ("example.org:9000", ("example.org", 9000)),
        ("[::1]:9000", ("::1", 9000)),
        ("::1", ("::1", 7878)),
    ],
)
def test_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected
    assert parse_address(format_address(*expected)) == expected


@pytest.mark.parametrize("text", ["", ":80", "host:port", "host:0", "host:70000"])
def test_bad_addresses(text: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_address(text)


def test_settings_remember_no_password(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "deep" / "client.json")
    assert settings.load() == LastUsed()
    settings.save(LastUsed(host="chat.example", port=9000, user="alice"))
    assert settings.load() == LastUsed(host="chat.example", port=9000, user="alice")
    assert set(settings.path.read_text().replace('"', "").strip("{}").split(",")) == {
        "host:chat.example",
        "port:9000",
        "user:alice",
    }
    settings.path.write_text("not json")
    assert settings.load() == LastUsed()


def test_tls_options(tmp_path: Path) -> None:
    assert ssl_context(tls=False, ca=None, insecure=False) is None
    checked = ssl_context(tls=True, ca=None, insecure=False)
    assert checked is not None
    assert checked.check_hostname
    insecure = ssl_context(tls=False, ca=None, insecure=True)
    assert insecure is not None
    assert not insecure.check_hostname
