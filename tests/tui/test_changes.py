"""Messages that change, against a real server: edit, delete, react, reply, /me, catch-up."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import Input

from chat_core import messages as m
from chat_srv.server import ChatServer
from chat_tui import session as session_module
from chat_tui.screens.confirm import ConfirmDelete
from chat_tui.screens.reaction_picker import ReactionPicker
from chat_tui.widgets.chat_input import ChatInput
from chat_tui.widgets.compose_bar import ComposeBar
from chat_tui.widgets.message_line import MessageLine, SystemLine
from chat_tui.widgets.message_pane import MessagePane
from chat_tui.widgets.status_bar import StatusBar
from tests.helpers import Client, register
from tests.tui.helpers import Driver, GatedClient, drive, make_app


def line(ui: Driver, msg_id: int) -> MessageLine:
    """The pane's line of message `msg_id`."""
    found = [row for row in ui.chat.query(MessageLine) if row.msg_id == msg_id]
    assert found, f"message {msg_id} is not shown: {ui.lines()}"
    return found[0]


def content(ui: Driver, msg_id: int) -> Text:
    """What the line of `msg_id` shows, with its styles."""
    shown = line(ui, msg_id).content
    assert isinstance(shown, Text)
    return shown


def text(ui: Driver, msg_id: int) -> str:
    return content(ui, msg_id).plain


def bar(ui: Driver) -> str | None:
    widget = ui.chat.query_one(ComposeBar)
    return str(widget.content) if widget.display else None


def selected(ui: Driver) -> int | None:
    return ui.chat.query_one(MessagePane).selected


async def sent(client: Client, body: str, **fields: object) -> int:
    """Post `body` to Général as `client`; its msg_id."""
    reply: m.SentOk = await client.call(m.Send, room="Général", body=body, **fields)
    return reply.msg_id


async def shown(ui: Driver, msg_id: int) -> None:
    await ui.wait(lambda: any(row.msg_id == msg_id for row in ui.chat.query(MessageLine)), "it")


async def select_newest(ui: Driver, *, up: int = 0) -> None:
    """Up on the empty input selects the newest message; `up` more go further back."""
    ui.chat.query_one(ChatInput).focus()
    await ui.pilot.press("up", *["up"] * up)
    await ui.settle()


async def test_up_selects_and_escape_leaves(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    first, second = await sent(bob, "first"), await sent(bob, "second")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await select_newest(ui)
        pane = ui.chat.query_one(MessagePane)
        assert (selected(ui), pane.has_focus) == (second, True)
        assert line(ui, second).has_class("-selected")
        keys = {b.binding.key for b in ui.app.active_bindings.values() if b.binding.show}
        assert {"e", "d", "r", "plus"} <= keys
        await ui.pilot.press("up")
        assert selected(ui) == first
        assert not line(ui, second).has_class("-selected")
        await ui.pilot.press("down", "down")  # past the newest: back to the input
        assert selected(ui) is None
        assert ui.chat.query_one(ChatInput).has_focus
        await select_newest(ui)
        await ui.pilot.press("escape")
        assert selected(ui) is None
        assert ui.chat.query_one(ChatInput).has_focus


async def test_edit_own_message(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("helo wrld")
        mine = (await bob.event(m.Message, sender="alice")).msg_id
        await shown(ui, mine)
        await select_newest(ui)
        await ui.pilot.press("e")
        field = ui.chat.query_one(ChatInput)
        assert (field.value, field.has_focus) == ("helo wrld", True)
        assert bar(ui) == "✎ Editing your message: Enter saves, Esc cancels"
        await ui.type("hello world")
        edited = await bob.event(m.Edited, msg_id=mine)
        assert (edited.body, edited.sender) == ("hello world", "alice")
        await ui.wait(lambda: "(edited)" in text(ui, mine), "the edit")
        assert text(ui, mine).endswith(" alice hello world (edited)")
        assert (bar(ui), field.value) == (None, "")
        # Escape gives an edit up, and leaves no copy of the old text in the input.
        await select_newest(ui)
        await ui.pilot.press("e", "escape")
        assert (bar(ui), field.value) == (None, "")
        await ui.type("a new line")
        got = await bob.event(m.Message, sender="alice")
        assert got.body == "a new line"
        assert not [e for e in bob.events if isinstance(e, m.Edited)]


async def test_delete_asks_first(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("keep me")
        await ui.type("oops")
        keep = (await bob.event(m.Message, body="keep me")).msg_id
        oops = (await bob.event(m.Message, body="oops")).msg_id
        await shown(ui, oops)
        await select_newest(ui)
        await ui.pilot.press("d")
        await ui.wait(lambda: isinstance(ui.app.screen, ConfirmDelete), "the question")
        await ui.pilot.press("n")  # kept
        await ui.wait(lambda: not isinstance(ui.app.screen, ConfirmDelete), "the answer")
        await ui.pilot.press("d")
        await ui.wait(lambda: isinstance(ui.app.screen, ConfirmDelete), "the question again")
        await ui.pilot.press("y")
        gone = await bob.event(m.Deleted, msg_id=oops)
        assert gone.by == "alice"
        await ui.wait(lambda: line(ui, oops).has_class("-deleted"), "the placeholder")
        assert text(ui, oops).endswith(" alice message deleted")
        assert [row.msg_id for row in ui.chat.query(MessageLine)] == [keep, oops]  # in place
        # A deleted message is skipped when selecting.
        await select_newest(ui)
        assert selected(ui) == keep


async def test_react_and_take_it_back(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    lunch = await sent(bob, "lunch?")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await select_newest(ui)
        await ui.pilot.press("plus")
        await ui.wait(lambda: isinstance(ui.app.screen, ReactionPicker), "the picker")
        await ui.pilot.press("1")
        got = await bob.event(m.Reaction, user="alice")
        assert (got.msg_id, got.emoji, got.on) == (lunch, "👍", True)
        await bob.call(m.React, msg_id=lunch, emoji="👍", on=True)
        await ui.wait(lambda: "👍 2" in text(ui, lunch), "two thumbs")
        reactions = content(ui, lunch)
        assert reactions.plain.splitlines()[-1].strip() == "👍 2"
        assert any(span.style == "reverse" for span in reactions.spans)  # alice is among them
        # The same one again takes it back; any emoji can be typed too.
        await ui.settle()
        assert selected(ui) == lunch
        await ui.pilot.press("equals_sign", "1")
        got = await bob.event(m.Reaction, user="alice")
        assert (got.emoji, got.on) == ("👍", False)
        await ui.wait(lambda: "👍 1" in text(ui, lunch), "one thumb")
        assert not any(span.style == "reverse" for span in content(ui, lunch).spans)
        await ui.pilot.press("plus")
        await ui.wait(lambda: isinstance(ui.app.screen, ReactionPicker), "the picker")
        await ui.pilot.press("tab")  # to the field: any emoji
        ui.app.screen.query_one("#reactions-other", Input).value = "🦆"
        await ui.pilot.press("enter")
        got = await bob.event(m.Reaction, user="alice")
        assert (got.emoji, got.on) == ("🦆", True)
        await ui.wait(lambda: "🦆 1" in text(ui, lunch), "the duck")
        assert text(ui, lunch).splitlines()[-1].strip() == "👍 1  🦆 1"
        # `/react` toggles a reaction on the newest message.
        await ui.type("/react 🦆")
        got = await bob.event(m.Reaction, user="alice")
        assert (got.emoji, got.on) == ("🦆", False)


async def test_reply_carries_reply_to_and_shows_a_quote(
    server: ChatServer, config_dir: Path
) -> None:
    bob = await register(server.port, "bob")
    question = await sent(bob, "which room for the demo?\nsecond line")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await select_newest(ui)
        await ui.pilot.press("r")
        assert bar(ui) == "↪ Replying to bob: which room for the demo?…  (Esc cancels)"
        assert ui.chat.query_one(ChatInput).has_focus
        await ui.type("Blabla")
        got = await bob.event(m.Message, sender="alice")
        assert (got.body, got.reply_to) == ("Blabla", question)
        await shown(ui, got.msg_id)
        quote, message = text(ui, got.msg_id).splitlines()
        assert quote == "      ↪ bob: which room for the demo?…"
        assert message.endswith(" alice Blabla")
        assert bar(ui) is None
        # Escape gives a reply up: the next line is a plain message.
        await select_newest(ui, up=1)
        assert selected(ui) == question
        await ui.pilot.press("r", "escape")
        assert bar(ui) is None
        await ui.type("not a reply")
        plain = await bob.event(m.Message, body="not a reply")
        assert plain.reply_to is None


async def test_me_is_an_action(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/me waves")
        got = await bob.event(m.Message, sender="alice")
        assert (got.body, got.action) == ("waves", True)
        await shown(ui, got.msg_id)
        assert text(ui, got.msg_id).endswith(" * alice waves")
        await ui.type("/me")
        assert "usage: /me TEXT" in [str(row.content) for row in ui.chat.query(SystemLine)]


async def test_changes_by_others_show_live(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    first = await sent(bob, "fist")
    reply = await sent(bob, "see above", reply_to=first)
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        assert text(ui, reply).splitlines()[0] == "      ↪ bob: fist"
        await bob.call(m.Edit, msg_id=first, body="first")
        await ui.wait(lambda: "(edited)" in text(ui, first), "the edit")
        assert text(ui, first).endswith(" bob first (edited)")
        assert text(ui, reply).splitlines()[0] == "      ↪ bob: first"  # the quote too
        await bob.call(m.Delete, msg_id=first)
        await ui.wait(lambda: line(ui, first).has_class("-deleted"), "the deletion")
        assert text(ui, first).endswith(" bob message deleted")
        assert text(ui, reply).splitlines()[0] == "      ↪ bob: message deleted"


async def test_a_quoted_parent_not_loaded_is_fetched(
    unlimited_server: ChatServer, config_dir: Path
) -> None:
    bob = await register(unlimited_server.port, "bob")
    old = await sent(bob, "the old question")
    for n in range(m.HISTORY_LIMIT_DEFAULT):
        await sent(bob, f"filler {n}")
    answer = await sent(bob, "the answer", reply_to=old)
    async with drive(make_app(unlimited_server.port, config_dir)) as ui:
        await ui.log_in("alice")
        assert old not in [row.msg_id for row in ui.chat.query(MessageLine)]
        await ui.wait(lambda: "old question" in text(ui, answer), "the parent")
        assert text(ui, answer).splitlines()[0] == "      ↪ bob: the old question"
        await bob.call(m.Edit, msg_id=old, body="the older question")
        await ui.wait(lambda: "older" in text(ui, answer), "the quote to follow the edit")


async def test_refusals_are_shown(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    theirs = await sent(bob, "bob's words")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await select_newest(ui)
        await ui.pilot.press("e")  # not hers: said at once, nothing sent
        assert ui.toasts()[-1].message == "You can edit only your own messages."
        assert bar(ui) is None
        await ui.pilot.press("d")
        await ui.wait(lambda: isinstance(ui.app.screen, ConfirmDelete), "the question")
        await ui.pilot.press("y")
        await ui.wait(lambda: len(ui.toasts()) == 2, "the server's refusal")
        refusal = ui.toasts()[-1]
        assert refusal.message == (
            "Not allowed: only its sender or a moderator may delete a message."
        )
        assert (refusal.severity, refusal.markup) == ("warning", False)
        assert not line(ui, theirs).has_class("-deleted")
        # Gone while the picker was open: the server says there is no such message.
        await ui.settle()
        await ui.pilot.press("plus")
        await ui.wait(lambda: isinstance(ui.app.screen, ReactionPicker), "the picker")
        await bob.call(m.Delete, msg_id=theirs)
        await ui.wait(lambda: line(ui, theirs).has_class("-deleted"), "the deletion")
        await ui.pilot.press("2")
        await ui.wait(lambda: len(ui.toasts()) == 3, "the second refusal")
        assert ui.toasts()[-1].message == "That message is gone (or was never one you can see)."


@pytest.mark.parametrize("page", [2, session_module.CHANGES_PAGE])
async def test_changes_made_while_away_are_caught_up(
    server: ChatServer, config_dir: Path, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    monkeypatch.setattr(session_module, "CHANGES_PAGE", page)
    gate = asyncio.Event()
    gate.set()
    bob = await register(server.port, "bob")
    edited, deleted, liked = [await sent(bob, body) for body in ("tpyo", "rash words", "cake!")]
    gated = functools.partial(GatedClient, gate=gate)
    app = make_app(server.port, config_dir, client_factory=gated)
    async with drive(app) as ui:
        await ui.log_in("alice")
        before = {msg_id: line(ui, msg_id) for msg_id in (edited, deleted, liked)}
        status = ui.chat.query_one(StatusBar)
        gate.clear()  # hold the reconnection while bob changes things
        assert ui.app.client is not None
        await ui.app.client.close()
        await ui.wait(lambda: not status.online, "the lost connection")
        await bob.call(m.Edit, msg_id=edited, body="typo")
        await bob.call(m.Delete, msg_id=deleted)
        await bob.call(m.React, msg_id=liked, emoji="🎉", on=True)
        last: m.ChangedOk = await bob.call(m.React, msg_id=liked, emoji="👀", on=True)
        gate.set()
        await ui.wait(lambda: status.online, "the reconnection")
        await ui.settle()
        # The same lines, redrawn: nothing was loaded again.
        assert {msg_id: line(ui, msg_id) for msg_id in before} == before
        assert text(ui, edited).endswith(" bob typo (edited)")
        assert text(ui, deleted).endswith(" bob message deleted")
        assert text(ui, liked).splitlines()[-1].strip() == "🎉 1  👀 1"
        assert ui.app.session is not None
        assert ui.app.session.state.changes.last == last.change_id
        # Live again: the next change shows at once.
        await bob.call(m.Edit, msg_id=edited, body="typo fixed")
        await ui.wait(lambda: "typo fixed" in text(ui, edited), "a live edit")


async def test_changes_in_a_conversation(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        psst: m.SentOk = await bob.call(m.Dm, to="alice", body="psst")
        await ui.type("/msg bob")
        await shown(ui, psst.msg_id)
        await bob.call(m.Edit, msg_id=psst.msg_id, body="psst!")
        await ui.wait(lambda: "psst! (edited)" in text(ui, psst.msg_id), "the edit")
        await ui.type("/react 👀")
        got = await bob.event(m.Reaction, user="alice")
        assert (got.msg_id, got.to, got.on) == (psst.msg_id, "alice", True)
        await ui.wait(lambda: "👀 1" in text(ui, psst.msg_id), "the reaction")
        await select_newest(ui)
        await ui.pilot.press("r")
        await ui.type("what?")
        reply = await bob.event(m.Message, sender="alice", body="what?")
        assert (reply.to, reply.reply_to) == ("bob", psst.msg_id)
