"""Noticing one another, in the data layer alone: the typing throttle and list, auto-
away, preferences, the commands, and the state folding statuses, topics and mentions."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from chat_core import messages as m
from chat_tui.commands import Command, Invalid, help_lines, parse
from chat_tui.config import Preferences, Settings
from chat_tui.conversation import Conversation, Target
from chat_tui.noticing import AutoAway, TypingThrottle, Typists, typing_line
from chat_tui.screens.room_browser import room_entry
from chat_tui.state import ChatState
from chat_tui.widgets.sidebar import entry
from chat_tui.widgets.user_list import user_entry
from tests.helpers import ManualClock

TS = int(datetime(2025, 6, 3, 9, 5, tzinfo=UTC).timestamp() * 1000)
GENERAL = Target.room("Général")


def msg(
    msg_id: int, body: str, sender: str = "bob", mentions: list[str] | None = None
) -> m.Message:
    return m.Message(
        msg_id=msg_id, ts=TS, sender=sender, body=body, room="Général", mentions=mentions
    )


def state(clock: ManualClock | None = None) -> ChatState:
    rooms = [
        m.RoomInfo(
            name="Général",
            approval=False,
            state=m.MEMBER,
            last_msg_id=5,
            unread=3,
            mentions=1,
            topic="Tout ce qui est général",
        ),
        m.RoomInfo(name="Blabla", approval=False, state=m.MEMBER, last_msg_id=0, unread=0),
    ]
    dms = [m.DmInfo(peer="carol", last_msg_id=4, unread=0, away=True, text="lunch")]
    reply = m.LoginOk(
        user="alice", rooms=rooms, dms=dms, server_time=TS, last_change_id=0, token="t"
    )
    clock = clock or ManualClock()
    return ChatState.from_login(reply, clock.monotonic)


def plain_text(renderable: object, width: int = 20) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(renderable)
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue().rstrip()


# -- typing ------------------------------------------------------------------------------


def test_the_throttle_says_one_typing_every_three_seconds_per_conversation() -> None:
    throttle = TypingThrottle()
    assert throttle.due(GENERAL, 100.0)
    assert not throttle.due(GENERAL, 102.9)
    assert throttle.due(Target.dm("bob"), 102.9)  # a conversation of its own
    assert throttle.due(GENERAL, 103.0)


def test_typists_last_a_few_seconds_or_until_their_message() -> None:
    typists = Typists(shown=6)
    typists.saw(GENERAL, "bob", 10)
    typists.saw(GENERAL, "Carol", 12)
    assert typists.names(GENERAL) == ["bob", "Carol"]
    assert typists.expire(15.9) == set()
    assert typists.expire(16) == {GENERAL}
    assert typists.names(GENERAL) == ["Carol"]
    assert typists.stopped(GENERAL, "carol")
    assert not typists.stopped(GENERAL, "carol")
    assert typists.names(GENERAL) == []


@pytest.mark.parametrize(
    ("names", "line"),
    [
        ([], ""),
        (["alice"], "alice is typing…"),
        (["alice", "bob"], "alice and bob are typing…"),
        (["alice", "bob", "carol"], "several people are typing…"),
    ],
)
def test_typing_line(names: list[str], line: str) -> None:
    assert typing_line(names) == line


# -- auto-away -----------------------------------------------------------------------------


def test_auto_away_after_idleness_and_back_on_a_key() -> None:
    auto = AutoAway(300, now=0)
    assert not auto.due(299, away=False)
    assert auto.due(300, away=False)
    assert auto.key(301)  # the key ends the away this set
    assert not auto.key(302)
    assert not auto.due(500, away=False)
    assert not auto.due(700, away=True)  # away by hand: a key will not end it
    assert not auto.key(701)


def test_auto_away_turned_off() -> None:
    assert Preferences(away_after_minutes=0).away_after is None
    assert Preferences().away_after == 600
    auto = AutoAway(None, now=0)
    assert not auto.due(10**9, away=False)


# -- preferences ---------------------------------------------------------------------------


def test_preferences_are_read_from_settings_toml(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "client.json")
    assert settings.preferences() == Preferences()
    settings.preferences_path.write_text("away_after_minutes = 2.5\nbell = false\n")
    assert settings.preferences() == Preferences(away_after_minutes=2.5, bell=False)
    settings.preferences_path.write_text("bel = false\n")
    with pytest.raises(ValueError, match="unknown field `bel`"):
        settings.preferences()
    settings.preferences_path.write_text("away_after_minutes = -1\n")
    with pytest.raises(ValueError, match="away_after_minutes"):
        settings.preferences()


# -- commands ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/away", Command("/away")),
        ("/away  out to lunch ", Command("/away", text="out to lunch")),
        (
            "/away " + "x" * 101,
            Invalid("an away message is at most 100 characters (this one has 101)"),
        ),
        ("/back", Command("/back")),
        ("/back now", Invalid("usage: /back")),
        ("/topic", Command("/topic")),
        ("/topic  Release on Friday ", Command("/topic", text="Release on Friday")),
        ("/topic " + "x" * 301, Invalid("a topic is at most 300 characters (this one has 301)")),
    ],
)
def test_noticing_commands(line: str, expected: Command | Invalid) -> None:
    assert parse(line) == expected


def test_topic_is_listed_for_moderators() -> None:
    assert not any(usage.startswith("/topic") for usage, _ in help_lines())
    assert "/topic [TEXT]" in [usage for usage, _ in help_lines(moderator=True)]


# -- the state -----------------------------------------------------------------------------


def test_login_brings_topics_mentions_and_away_peers() -> None:
    chat = state()
    general = chat.rooms["général"]
    assert (general.unread, general.mentions, general.topic) == (3, 1, "Tout ce qui est général")
    assert chat.away_text("Carol") == "lunch"
    assert chat.away_text("bob") is None


def test_statuses_follow_events_and_end_offline() -> None:
    chat = state()
    change = chat.apply(m.UserStatus(user="bob", away=True, text=None))
    assert change.status
    assert chat.away_text("bob") == ""
    assert not chat.apply(m.UserStatus(user="bob", away=True, text=None)).status
    assert chat.apply(m.UserStatus(user="bob", away=True, text="meeting")).status
    info = chat.user_info(m.UserInfo(name="bob", online=True))
    assert (info.away, info.text) == (True, "meeting")
    change = chat.apply(m.Presence(changes=[m.PresenceChange(user="bob", online=False)]))
    assert change.status
    assert chat.away_text("bob") is None
    chat.apply(m.UserStatus(user="alice", away=True, text="brb"))  # from another session
    assert chat.away_text("alice") == "brb"


def test_topic_events() -> None:
    chat = state()
    change = chat.apply(m.Topic(room="Général", topic="Standup at 9:30", by="mia"))
    assert (change.topic, change.topic_note) == (GENERAL, "mia set the topic: Standup at 9:30")
    assert chat.rooms["général"].topic == "Standup at 9:30"
    assert chat.directory["général"].topic == "Standup at 9:30"
    change = chat.apply(m.Topic(room="Général", topic="", by="console"))
    assert change.topic_note == "console cleared the topic"
    assert chat.rooms["général"].topic is None
    assert chat.apply(m.Topic(room="Elsewhere", topic="x", by="mia")).topic is None


def test_mentions_are_counted_outside_the_current_view_and_read_away() -> None:
    chat = state()
    chat.current = Target.room("Blabla")
    general = chat.rooms["général"]
    general.messages.clear()
    chat.apply(msg(6, "@alice hi", mentions=["alice"]))
    chat.apply(msg(7, "alice, without the at", mentions=None))
    chat.apply(msg(8, "@ALICE again", mentions=["Alice"]))
    chat.apply(msg(9, "@alice from me", sender="alice", mentions=["alice"]))
    assert (general.unread, general.mentions) == (6, 3)
    chat.apply(m.Read(room="Général", msg_id=7))  # read elsewhere, up to 7
    assert (general.unread, general.mentions) == (1, 1)
    chat.apply(m.Read(room="Général", msg_id=9))
    assert (general.unread, general.mentions) == (0, 0)
    chat.current = GENERAL
    chat.apply(msg(10, "@alice here", mentions=["alice"]))
    assert general.mentions == 0  # on screen: read at once


def test_a_mention_or_a_dm_asks_for_attention_wherever_it_is() -> None:
    chat = state()
    chat.current = GENERAL
    change = chat.apply(msg(6, "@alice here", mentions=["alice"]))
    assert change.alert_title == "bob mentioned you in Général"
    assert chat.apply(msg(7, "nothing")).alert is None
    change = chat.apply(msg(8, "alice, are you there?"))  # the name alone, highlighted
    assert change.alert is not None
    change = chat.apply(m.Message(msg_id=9, ts=TS, sender="carol", body="hey", to="alice"))
    assert (change.alert_title, change.target) == ("Direct message from carol", Target.dm("carol"))


def test_typing_events_last_until_the_message() -> None:
    clock = ManualClock()
    chat = state(clock)
    assert chat.apply(m.UserTyping(user="bob", room="Général")).typing == GENERAL
    assert chat.apply(m.UserTyping(user="carol", to="alice")).typing == Target.dm("carol")
    assert chat.apply(m.UserTyping(user="dave", to="alice")).typing is None  # no such DM
    assert chat.apply(m.UserTyping(user="bob", room="Nowhere")).typing is None
    assert chat.typists.names(GENERAL) == ["bob"]
    assert chat.apply(msg(6, "there")).typing == GENERAL
    assert chat.typists.names(GENERAL) == []
    chat.apply(m.UserTyping(user="bob", room="Général"))
    assert chat.apply(m.Member(room="Général", user="bob", joined=False)).typing == GENERAL
    assert chat.typists.names(GENERAL) == []


# -- drawing -------------------------------------------------------------------------------


def test_the_sidebar_shows_mentions_apart_from_unread() -> None:
    conv = Conversation(GENERAL, unread=12, mentions=2)
    assert plain_text(entry(conv)) == "#Général     12   @2"
    conv.mentions = 0
    assert plain_text(entry(conv)) == "#Général          12"
    peer = Conversation(Target.dm("carol"))
    assert plain_text(entry(peer, away=True)) == "@carol          away"


def test_an_away_user_is_dimmed_with_their_text() -> None:
    user = m.UserInfo(name="bob", online=True, away=True, text="\x1b[2Jgone")
    line = user_entry(user)
    assert line.plain == "◐ bob ␛[2Jgone"
    assert "dim" in str(line.spans[1].style)
    assert user_entry(m.UserInfo(name="bob", online=True)).plain == "● bob"


def test_the_room_browser_shows_topics() -> None:
    room = m.RoomInfo(
        name="Général", approval=False, state=m.MEMBER, online=3, topic="[b]Standup[/b] at 9:30"
    )
    assert plain_text(room_entry(room), width=40).split("\n") == [
        "# Général         open · 3 online joined",
        "  [b]Standup[/b] at 9:30",
    ]
    room.topic = None
    assert plain_text(room_entry(room), width=40) == "# Général         open · 3 online joined"
