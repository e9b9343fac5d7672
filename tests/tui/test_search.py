"""The search view against a real server: `/search` and Ctrl+F, results newest first,
older ones on demand, a refusal said, and Enter going to the message in its room or
conversation, selected."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, OptionList, Static

from chat_core import messages as m
from chat_srv.server import ChatServer
from chat_tui.commands import Command, Invalid, parse
from chat_tui.conversation import Target
from chat_tui.screens.search import MORE, SearchView
from chat_tui.widgets.message_pane import MessagePane
from tests.helpers import register
from tests.tui.helpers import Driver, drive, make_app, rendered


def view(ui: Driver) -> SearchView:
    screen = ui.app.screen
    assert isinstance(screen, SearchView), screen
    return screen


def hint(ui: Driver) -> str:
    return str(view(ui).query_one("#search-hint", Static).content)


def current(ui: Driver) -> Target | None:
    assert ui.app.session is not None
    return ui.app.session.state.current


def test_search_parses() -> None:
    assert parse("/search  build green ") == Command("/search", text="build green")
    assert parse("/search") == Command("/search")
    assert parse("/search " + "x" * 201) == Invalid(
        "a search is at most 200 characters (this one has 201)"
    )


async def test_search_and_go_to_a_room_message(
    unlimited_server: ChatServer, config_dir: Path
) -> None:
    server = unlimited_server
    alice = await register(server.port, "alice")
    await alice.call(m.Join, room="Blabla")
    await alice.close()
    bob = await register(server.port, "bob")
    await bob.call(m.Join, room="Blabla")
    old = await bob.call(m.Send, room="Blabla", body="the Build is green")
    for n in range(60):
        await bob.call(m.Send, room="Blabla", body=f"noise {n}")
    await bob.call(m.Send, room="Général", body="build again? [bold]no markup[/]")
    async with drive(make_app(server.port, config_dir), size=(100, 30)) as ui:
        await ui.log_in("alice", register=False)
        await ui.type("/search build")
        await ui.wait(lambda: isinstance(ui.app.screen, SearchView), "the search view")
        await ui.wait(lambda: len(view(ui).results) == 2, "two results")
        assert [msg.body for msg in view(ui).results] == [
            "build again? [bold]no markup[/]",  # newest first
            "the Build is green",
        ]
        assert hint(ui) == "2 found, newest first."
        text = rendered(view(ui).query_one(OptionList))
        assert "#Général" in text
        assert "build again? [bold]no markup[/]" in text
        await ui.pilot.press("down", "enter")
        await ui.wait(lambda: not isinstance(ui.app.screen, SearchView), "the view to close")
        pane = ui.chat.query_one(MessagePane)
        await ui.wait(lambda: pane.selected == old.msg_id, "the message selected")
        assert current(ui) == Target.room("Blabla")
        assert pane.more_after  # sixty newer ones, past the page after it


async def test_ctrl_f_older_results_and_a_direct_message(
    unlimited_server: ChatServer, config_dir: Path
) -> None:
    server = unlimited_server
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir), size=(100, 30)) as ui:
        await ui.log_in("alice")
        dm = await bob.call(m.Dm, to="alice", body="deployment is done, first of all")
        for n in range(24):
            await bob.call(m.Send, room="Général", body=f"deployed {n}")
        await ui.pilot.press("ctrl+f")
        await ui.wait(lambda: isinstance(ui.app.screen, SearchView), "the search view")
        field = view(ui).query_one(Input)
        assert ui.app.focused is field
        field.value = "deploy*"
        await ui.pilot.press("enter")
        await ui.wait(lambda: len(view(ui).results) == 20, "a first page")
        assert view(ui).more
        assert hint(ui) == "20 found, newest first. More match: “older results…” brings them."
        listing = view(ui).query_one(OptionList)
        listing.highlighted = listing.option_count - 1
        assert listing.get_option_at_index(listing.highlighted).id == MORE
        await ui.pilot.press("enter")
        await ui.wait(lambda: len(view(ui).results) == 25, "the older ones")
        assert not view(ui).more
        assert view(ui).results[-1].msg_id == dm.msg_id
        assert listing.highlighted == 20  # where the row asking for more was
        listing.highlighted = 24
        await ui.pilot.press("enter")
        pane = ui.chat.query_one(MessagePane)
        await ui.wait(lambda: pane.selected == dm.msg_id, "the direct message selected")
        assert current(ui) == Target.dm("bob")


async def test_a_refused_search_says_why(server: ChatServer, config_dir: Path) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/search !!!")
        await ui.wait(lambda: isinstance(ui.app.screen, SearchView), "the search view")
        await ui.wait(lambda: hint(ui) != "Searching…", "the answer")
        assert hint(ui) == "A search needs at least one word (letters or digits)."
        view(ui).query_one(Input).value = "nothing matches this"
        await ui.pilot.press("enter")
        await ui.wait(lambda: hint(ui) == "No message matches.", "no match")
        await ui.pilot.press("escape")
        await ui.wait(lambda: not isinstance(ui.app.screen, SearchView), "the view to close")
        assert current(ui) == Target.room("Général")
