"""The pure parts of the console: durations, the parser, rendering, completion."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rich.text import Text

from chat_srv.console.commands import COMMANDS, UsageError, parse
from chat_srv.console.completion import complete
from chat_srv.console.durations import DurationError, format_duration, parse_duration
from chat_srv.console.render import ESCAPE_STYLE, error, plain
from chat_srv.escapes import visible
from tests.console import as_text

# -- durations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("7d", 7 * 86400), ("1y", 365 * 86400)],
)
def test_durations_in_every_unit(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize("text", ["", "10", "m", "-5m", "1.5h", "10 m", "10M", "3w", "0s", "101y"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_format_duration_picks_the_biggest_exact_unit() -> None:
    assert format_duration(timedelta(seconds=90)) == "90s"
    assert format_duration(timedelta(hours=48)) == "2d"


# -- parser ---------------------------------------------------------------------------------


def test_blank_line_is_nothing() -> None:
    assert parse("   ") is None


def test_reason_is_the_rest_of_the_line() -> None:
    inv = parse("kick alice 10m  spamming   the room ")
    assert inv is not None
    assert inv.command.name == "kick"
    assert inv.text("username") == "alice"
    assert inv.duration("duration") == timedelta(minutes=10)
    assert inv.text("reason") == "spamming   the room"


def test_longest_command_wins() -> None:
    ip = parse("ban ip 10.0.0.7/8 bots")
    assert ip is not None
    assert (ip.command.name, ip.text("address"), ip.text("reason")) == (
        "ban ip",
        "10.0.0.7/8",
        "bots",
    )
    user = parse("ban Ip bots")  # a user called Ip: command words are lower case
    assert user is not None
    assert (user.command.name, user.text("username")) == ("ban", "Ip")


def test_room_lists_and_all() -> None:
    inv = parse("accept pending alice Informatique,,Marketing")
    assert inv is not None
    assert inv.names("rooms") == ["Informatique", "Marketing"]
    every = parse("reject pending alice all")
    assert every is not None
    assert every.names("rooms") is None


def test_optional_arguments() -> None:
    opened = parse("add room A,B open")
    assert opened is not None
    assert opened.optional_text("open") == "open"
    closed = parse("add room A")
    assert closed is not None
    assert closed.optional_text("open") is None
    assert closed.names("rooms") == ["A"]


@pytest.mark.parametrize(
    ("line", "message", "usage"),
    [
        ("nonsense", "unknown command nonsense", None),
        ("add", "add is not a command", "add room <room1,room2,...> [open]"),
        ("pending alice", "pending alice is not a command", "pending rooms [<username>]"),
        ("kick", "missing <username>", "kick <username> <duration> <reason>"),
        ("kick alice", "missing <duration>", "kick <username> <duration> <reason>"),
        ("kick alice 10m", "missing <reason>", "kick <username> <duration> <reason>"),
        ("kick alice 10 rude", "bad duration 10", "kick <username> <duration> <reason>"),
        ("kick alice 0s rude", "longer than zero", "kick <username> <duration> <reason>"),
        ("messages 5x", "bad duration 5x", "messages <duration> [<room>]"),
        ("messages", "missing <duration>", "messages <duration> [<room>]"),
        ("messages 1m Général extra", "too many arguments: extra", "messages <duration> [<room>]"),
        ("users now", "too many arguments: now", "users"),
        ("ban ip 300.1.2.3 x", "300.1.2.3 is not an IP address", "ban ip <address> <reason>"),
        ("ban ip 10.0.0.0/33 x", "is not an IP address or CIDR block", "ban ip <address> <reason>"),
        ("ban ip 10.0.0.1", "missing <reason>", "ban ip <address> <reason>"),
        ("unban ip", "missing <address>", "unban ip <address>"),
        ("unban ip nowhere", "nowhere is not an IP address", "unban ip <address>"),
        ("add room A closed", "expected the word open, not closed", "add room"),
        ("add room ,", "names no room", "add room"),
        ("accept pending alice", "missing <rooms>", "accept pending <username> <rooms>"),
        ("notice", "missing <text>", "notice <text>"),
        ("ban", "missing <username>", "ban <username> <reason>\nusage: ban ip <address> <reason>"),
    ],
)
def test_every_mistake_says_why_and_shows_the_usage(
    line: str, message: str, usage: str | None
) -> None:
    with pytest.raises(UsageError) as caught:
        parse(line)
    assert message in caught.value.message
    shown = as_text(error(caught.value.message, caught.value.usage))
    assert shown.startswith("error: ")
    assert "Traceback" not in shown
    if usage is not None:
        assert f"usage: {usage}" in shown


def test_every_command_has_a_usage_and_summary() -> None:
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))
    for command in COMMANDS:
        assert command.usage.startswith(command.name)
        assert command.summary


# -- rendering ---------------------------------------------------------------------------------


def test_control_characters_are_made_visible() -> None:
    assert visible("a\x1b[31mb") == "a\\x1b[31mb"
    assert visible("bell\x07 nul\x00 del\x7f c1\x9b") == "bell\\x07 nul\\x00 del\\x7f c1\\x9b"
    assert visible("line\nnext\ttab\r") == "line\\nnext\\ttab\\r"
    assert visible("rtl \u202egnp.exe") == "rtl \\u202egnp.exe"
    assert visible("Général ✓") == "Général ✓"


def test_a_body_is_one_line_in_the_console() -> None:
    shown = as_text(plain("first\nsecond\u2028third\tend"))
    assert shown == "first\\nsecond\\u2028third\\tend\n"


def test_plain_text_never_becomes_markup() -> None:
    text = plain("[bold red]x[/] [link=http://x]y[/link] \x1b[31m")
    assert isinstance(text, Text)
    # The one style is the mark on the escape the console made, not the user's markup.
    assert [(text.plain[s.start : s.end], s.style) for s in text.spans] == [("\\x1b", ESCAPE_STYLE)]
    shown = as_text(text)
    assert "[bold red]x[/] [link=http://x]y[/link] \\x1b[31m" in shown
    assert "\x1b" not in shown


def test_error_escapes_what_the_user_typed() -> None:
    shown = as_text(error("no user called [b]\x1b[2J", ["kick <username>"]))
    assert shown == "error: no user called [b]\\x1b[2J\nusage: kick <username>\n"


# -- completion -----------------------------------------------------------------------------------

USERS = ["alice", "Albert", "bob"]
ROOMS = ["Blabla", "Général", "Informatique"]


def _texts(before_cursor: str) -> list[str]:
    return [c.text for c in complete(before_cursor, USERS, ROOMS)]


def test_completes_command_words() -> None:
    assert _texts("ki") == ["kick", "kill"]
    assert _texts("ban ") == ["alice", "Albert", "bob", "ip"]
    assert _texts("ac") == ["accept"]
    assert _texts("accept ") == ["pending"]
    assert set(_texts("")) >= {"help", "kick", "shutdown", "add", "pending"}


def test_completes_user_and_room_names_case_insensitively() -> None:
    assert _texts("kick al") == ["alice", "Albert"]
    assert _texts("messages 1h gé") == ["Général"]
    assert _texts("accept pending bob ") == ["Blabla", "Général", "Informatique", "all"]
    assert _texts("pending rooms B") == ["bob"]


def test_completes_after_a_comma_in_a_room_list() -> None:
    found = complete("accept pending bob Blabla,in", USERS, ROOMS)
    assert [(c.text, c.replaces) for c in found] == [("Informatique", 2)]


def test_no_completion_inside_a_reason() -> None:
    assert _texts("kick alice 10m al") == []
    assert _texts("kick alice ") == ["30s", "10m", "1h", "1d", "7d"]
    assert _texts("add room X o") == ["open"]
    assert _texts("help ki") == ["kick", "kill"]
