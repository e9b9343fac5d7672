"""Messages that change, in the data layer alone: folding changes, and drawing them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chat_core import messages as m
from chat_tui.changes import ChangeLog, changed, has_reacted, reacted
from chat_tui.commands import Command, Invalid, parse
from chat_tui.conversation import Target
from chat_tui.render import first_line, message_text, quote
from chat_tui.state import ChatState

TS = int(datetime(2025, 6, 3, 9, 5, tzinfo=UTC).timestamp() * 1000)


def msg(msg_id: int, sender: str = "bob", body: str = "hi", **fields: object) -> m.Message:
    return m.Message(msg_id=msg_id, ts=TS, sender=sender, body=body, **fields)  # type: ignore[arg-type]


def state_with(*messages: m.Message) -> ChatState:
    login = m.LoginOk(
        user="alice",
        rooms=[m.RoomInfo(name="Général", approval=False, state=m.MEMBER, unread=0)],
        dms=[m.DmInfo(peer="bob", last_msg_id=0, unread=0)],
        server_time=TS,
        last_change_id=10,
    )
    state = ChatState.from_login(login)
    for message in messages:
        target = Target.room(message.room) if message.room else Target.dm("bob")
        conv = state.conversation(target)
        assert conv is not None
        conv.add([message])
    return state


def edit(change_id: int, msg_id: int, body: str, room: str | None = "Général") -> m.Edited:
    to = None if room else "alice"
    return m.Edited(
        change_id=change_id, msg_id=msg_id, sender="bob", body=body, edited=TS, room=room, to=to
    )


def react(change_id: int, msg_id: int, user: str, emoji: str, on: bool = True) -> m.Reaction:
    return m.Reaction(
        change_id=change_id, msg_id=msg_id, user=user, emoji=emoji, on=on, room="Général"
    )


# -- folding changes ------------------------------------------------------------------


def test_changes_replace_the_message_held() -> None:
    state = state_with(msg(1, room="Général"), msg(2, room="Général", reply_to=1))
    conv = state.conversation(Target.room("Général"))
    assert conv is not None
    change = state.apply(edit(11, 1, "hello"))
    assert change.target == Target.room("Général")
    assert [(u.msg_id, u.body, u.edited) for u in change.updated] == [(1, "hello", TS)]
    assert conv.messages[0].body == "hello"
    state.apply(react(12, 1, "carol", "👍"))
    state.apply(react(13, 1, "alice", "👍"))
    state.apply(react(14, 1, "carol", "🎉"))
    assert conv.messages[0].reactions == {"👍": ["carol", "alice"], "🎉": ["carol"]}
    state.apply(react(15, 1, "Carol", "👍", on=False))  # names match case-insensitively
    assert conv.messages[0].reactions == {"👍": ["alice"], "🎉": ["carol"]}
    gone = state.apply(m.Deleted(change_id=16, msg_id=1, by="bob", room="Général"))
    held = conv.find(1)
    assert held is not None
    assert (held.deleted, held.body, held.reactions) == (True, None, None)
    assert gone.updated == [held]
    assert [msg.msg_id for msg in conv.replies_to(1)] == [2]
    assert state.changes.last == 16


def test_a_change_to_a_message_not_held_changes_nothing_but_is_counted() -> None:
    state = state_with(msg(1, room="Général"))
    change = state.apply(edit(11, 99, "elsewhere"))
    assert (change.target, change.updated) == (None, [])
    assert state.changes.last == 11


def test_a_dm_change_is_found_by_its_id_whoever_it_names() -> None:
    state = state_with(msg(5, to="alice"))
    change = state.apply(
        m.Reaction(change_id=11, msg_id=5, user="alice", emoji="👀", on=True, to="alice")
    )
    assert change.target == Target.dm("bob")
    assert change.updated[0].reactions == {"👀": ["alice"]}


def test_changes_older_than_the_one_applied_are_refused() -> None:
    """A live event can come before the catch-up page that holds an older change."""
    state = state_with(msg(1, room="Général"))
    conv = state.conversation(Target.room("Général"))
    assert conv is not None
    state.apply(edit(20, 1, "newest"))
    state.apply(react(21, 1, "carol", "👍", on=False))
    # The page replays older changes to the same things, then an unrelated one.
    for event in (edit(12, 1, "older"), react(13, 1, "carol", "👍"), react(14, 1, "dave", "👍")):
        state.apply(event)
    assert conv.messages[0].body == "newest"
    assert conv.messages[0].reactions == {"👍": ["dave"]}


def test_the_catch_up_mark_moves_only_with_the_pages_while_held() -> None:
    log = ChangeLog(10)
    log.hold()
    assert log.accept(edit(50, 1, "live, on the new connection"))
    assert log.last == 10  # a catch-up cut short now would still ask from 10
    log.caught_up_to(30)
    assert log.last == 30
    log.release()
    assert log.last == 50
    assert log.accept(edit(51, 2, "x"))
    assert log.last == 51


def test_a_deleted_message_changes_no_more() -> None:
    gone = changed(msg(1), m.Deleted(change_id=2, msg_id=1, by="bob", room="Général"))
    assert changed(gone, edit(3, 1, "back?")) is gone
    assert changed(gone, react(4, 1, "carol", "👍")) is gone


def test_reactions_on_twice_keep_their_order() -> None:
    once = reacted(None, react(1, 1, "bob", "👍"))
    twice = reacted(reacted(once, react(2, 1, "carol", "👍")), react(3, 1, "bob", "👍"))
    assert twice == {"👍": ["bob", "carol"]}
    assert reacted(twice, react(4, 1, "nobody", "🎉", on=False)) == twice
    assert reacted({"👍": ["bob"]}, react(5, 1, "BOB", "👍", on=False)) is None
    assert has_reacted(msg(1, reactions={"👍": ["Alice"]}), "👍", "alice")


# -- commands -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/me waves", Command("/me", text="waves")),
        ("/me  waves  slowly", Command("/me", text=" waves  slowly")),
        ("/me", Invalid("usage: /me TEXT")),
        ("/me   ", Invalid("usage: /me TEXT")),
        ("//me waves", Command("say", text="/me waves")),
        ("/react 👍", Command("/react", ("👍",))),
        ("/react", Invalid("usage: /react EMOJI")),
        ("/react 👍 🎉", Invalid("usage: /react EMOJI")),
    ],
)
def test_parse_me_and_react(line: str, expected: Command | Invalid) -> None:
    assert parse(line) == expected


# -- drawing --------------------------------------------------------------------------


def test_an_edited_message_says_so() -> None:
    text = message_text(msg(1, body="fixed", edited=TS), me="alice", tz=UTC)
    assert text.plain == "09:05 bob fixed (edited)"
    styled = [(text.plain[span.start : span.end].strip(), span.style) for span in text.spans]
    assert ("(edited)", "dim") in styled


def test_a_deleted_message_is_a_placeholder() -> None:
    gone = m.Message(msg_id=1, ts=TS, sender="bob", room="Général", deleted=True)
    assert message_text(gone, me="alice", tz=UTC).plain == "09:05 bob message deleted"


def test_an_action_and_its_reactions() -> None:
    waves = msg(1, body="waves", action=True, reactions={"👍": ["carol", "alice"], "🎉": ["bob"]})
    text = message_text(waves, me="alice", tz=UTC)
    assert text.plain == "09:05 * bob waves\n      👍 2  🎉 1"
    styled = [(text.plain[s.start : s.end], s.style) for s in text.spans]
    assert ("👍 2", "reverse") in styled  # alice is among them
    assert ("🎉 1", "reverse") not in styled


def test_a_reply_quotes_its_parent() -> None:
    parent = msg(1, sender="carol", body="a very long first line " * 5 + "\nand more")
    reply = msg(2, body="yes", reply_to=1)
    text = message_text(reply, me="alice", tz=UTC, parent=parent)
    quote_line, line = text.plain.split("\n")
    assert quote_line == "      ↪ carol: " + ("a very long first line " * 3)[:59].rstrip() + "…"
    assert line == "09:05 bob yes"
    unknown = message_text(reply, me="alice", tz=UTC)
    assert unknown.plain.split("\n")[0] == "      ↪ message #1"
    gone = m.Message(msg_id=1, ts=TS, sender="carol", room="Général", deleted=True)
    assert quote(1, gone) == "↪ carol: message deleted"
    assert quote(1, msg(1, body="waves", action=True)) == "↪ * bob waves"
    # Cut to the width given, counting cells: a wide character takes two.
    assert quote(1, msg(1, body="日本語のテキストです"), width=20) == "↪ bob: 日本語のテキ…"
    narrow = message_text(reply, me="alice", tz=UTC, parent=parent, width=30)
    assert narrow.plain.split("\n")[0] == "      ↪ carol: a very long fi…"  # 30 cells


def test_hostile_text_stays_text_everywhere() -> None:
    body = "[bold red]x[/] \x1b[2J"
    parent = msg(1, body=body)
    reply = msg(2, body=body, reply_to=1, edited=TS, reactions={"[b]\x1b": ["bob"]})
    text = message_text(reply, me="alice", tz=UTC, parent=parent)
    assert "\x1b" not in text.plain
    assert text.plain == (
        "      ↪ bob: [bold red]x[/] ␛[2J\n09:05 bob [bold red]x[/] ␛[2J (edited)\n      [b]␛ 1"
    )
    assert not any("red" in str(span.style) for span in text.spans)
    assert first_line("\n\n  ␛ ok  \nmore") == "␛ ok…"
