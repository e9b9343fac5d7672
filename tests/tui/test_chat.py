"""The chat screen against a real server: messages, rooms, DMs, unread counts, keys."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import events

from chat_core import messages as m
from chat_srv.admin import Admin
from chat_srv.server import ChatServer
from chat_tui.conversation import Target
from chat_tui.screens.help import HelpScreen
from chat_tui.screens.room_browser import RoomBrowser
from chat_tui.screens.switcher import QuickSwitcher
from chat_tui.widgets.chat_input import ChatInput
from chat_tui.widgets.message_line import MessageLine, SystemLine
from chat_tui.widgets.sidebar import Sidebar
from chat_tui.widgets.user_list import UserList
from tests.helpers import PASSWORD, Client, register, running_server
from tests.tui.helpers import Driver, drive, make_app, rendered


def unread(ui: Driver, target: Target) -> int:
    assert ui.app.session is not None
    conv = ui.app.session.state.conversation(target)
    assert conv is not None, target
    return conv.unread


def current(ui: Driver) -> str:
    assert ui.app.session is not None
    target = ui.app.session.state.current
    return target.label if target is not None else ""


async def server_unread(port: int, user: str) -> dict[str, int]:
    """The unread counts the server holds for `user` (from a fresh login)."""
    async with await Client.connect(port) as client:
        reply: m.LoginOk = await client.call(m.Login, user=user, password=PASSWORD)
    counts = {"#" + room.name: room.unread or 0 for room in reply.rooms}
    counts.update({"@" + dm.peer: dm.unread for dm in reply.dms})
    return counts


def notes(ui: Driver) -> list[str]:
    return [str(line.content) for line in ui.chat.query(SystemLine)]


async def test_send_and_receive(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("hello bob")
        got = await bob.event(m.Message, sender="alice")
        assert (got.room, got.body) == ("Général", "hello bob")
        await bob.call(m.Send, room="Général", body="hi alice")
        await ui.wait(lambda: any("hi alice" in line for line in ui.lines()), "bob's message")
        assert [line.split(" ", 1)[1] for line in ui.lines()] == [
            "alice hello bob",
            "bob hi alice",
        ]
        users = rendered(ui.chat.query_one(UserList))
        assert "● alice" in users
        assert "● bob" in users


async def test_a_pasted_block_is_one_message(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        field = ui.chat.query_one(ChatInput)
        field.post_message(events.Paste("line one\r\nline two\nline 3\n"))
        await ui.wait(lambda: field.value == "line one\nline two\nline 3", "the pasted block")
        await ui.pilot.press("enter")  # read, then sent
        got = await bob.event(m.Message, sender="alice")
        assert got.body == "line one\nline two\nline 3"
        await bob.sync()
        assert not [e for e in bob.events if isinstance(e, m.Message)]  # one message only


async def test_a_pasted_line_is_inserted_once(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        line = ui.chat.query_one(ChatInput)
        line.post_message(events.Paste("https://example.org/x"))
        await ui.wait(lambda: line.value, "the pasted line")
        await ui.settle()
        assert line.value == "https://example.org/x"
        await ui.pilot.press("enter")
        got = await bob.event(m.Message, sender="alice")
        assert got.body == "https://example.org/x"


async def test_bodies_are_plain_text(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await bob.call(m.Send, room="Général", body="[bold red]x[/] [i]y")
        await ui.wait(lambda: ui.chat.query(MessageLine), "the message")
        line = ui.chat.query(MessageLine).last()
        assert rendered(line).endswith(" bob [bold red]x[/] [i]y")
        assert isinstance(line.content, Text)
        assert not any("red" in str(span.style) for span in line.content.spans)


async def test_join_an_open_room_and_wait_for_an_approved_one(
    server: ChatServer, config_dir: Path
) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/join Blabla")
        await ui.wait(lambda: current(ui) == "#Blabla", "Blabla to open")
        await ui.type("/join Informatique")
        assert ui.app.session is not None
        conv = ui.app.session.state.conversation(Target.room("Informatique"))
        assert conv is not None
        assert conv.state == m.PENDING
        assert "waiting for an administrator's approval" in notes(ui)[-1]
        sidebar = rendered(ui.chat.query_one(Sidebar)).splitlines()
        assert any(line.startswith("#Informat") and line.endswith(" waiting") for line in sidebar)
        await Admin(server).accept("alice", ["Informatique"])
        await ui.wait(lambda: conv.state == m.MEMBER, "the membership event")
        assert "You are now a member of Informatique." in [t.message for t in ui.toasts()]
        assert "waiting" not in rendered(ui.chat.query_one(Sidebar))


async def test_the_room_browser_joins_the_chosen_room(server: ChatServer, config_dir: Path) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.pilot.press("ctrl+o")
        await ui.wait(lambda: isinstance(ui.app.screen, RoomBrowser), "the room browser")
        text = rendered(ui.app.screen.query_one("#rooms-list"))
        assert "# Général" in text
        assert "joined" in text
        assert "needs approval" in text
        await ui.pilot.press("enter")  # the first room: Blabla
        await ui.settle()
        await ui.wait(lambda: current(ui) == "#Blabla", "Blabla to open")


async def test_direct_messages(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await bob.call(m.Dm, to="alice", body="psst")
        dm = Target.dm("bob")
        await ui.wait(lambda: ui.app.session and ui.app.session.state.dms, "the conversation")
        await ui.wait(lambda: unread(ui, dm) == 1, "the unread DM")
        toast = ui.toasts()[-1]
        assert (toast.title, toast.message, toast.markup) == (
            "Direct message from bob",
            "psst",
            False,
        )
        assert "@bob" in rendered(ui.chat.query_one(Sidebar))
        await ui.type("/msg bob hey you")
        await ui.wait(lambda: current(ui) == "@bob", "the conversation to open")
        got = await bob.event(m.Message, sender="alice")
        assert (got.to, got.body) == ("bob", "hey you")
        await ui.wait(lambda: len(ui.lines()) == 2, "both messages")
        assert unread(ui, dm) == 0
        await ui.type("/msg nobody hello?")
        await ui.wait(lambda: current(ui) == "@bob", "back to the conversation")
        assert ui.toasts()[-1].message == "No user called nobody."
        assert [conv.target.label for conv in ui.app.session.state.sidebar()][-1] == "@bob"  # type: ignore[union-attr]
        await ui.settle()
        assert (await server_unread(server.port, "alice"))["@bob"] == 0


async def test_unread_counts_and_mentions_elsewhere(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    await bob.call(m.Join, room="Blabla")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/join Blabla")
        await ui.wait(lambda: current(ui) == "#Blabla", "Blabla to open")
        await ui.pilot.press("ctrl+p")  # back to Général
        await ui.wait(lambda: current(ui) == "#Général", "Général to open")
        blabla = Target.room("Blabla")
        for body in ("one", "two", "are you there, alice?"):
            await bob.call(m.Send, room="Blabla", body=body)
        await ui.wait(lambda: unread(ui, blabla) == 3, "three unread")
        assert any(line.endswith(" 3") for line in rendered(ui.chat.query_one(Sidebar)).split("\n"))
        mention = ui.toasts()[-1]
        assert mention.title == "bob mentioned you in Blabla"
        assert mention.message == "are you there, alice?"
        assert len(ui.toasts()) == 1  # the other two mention nobody
        await ui.pilot.press("ctrl+n")
        await ui.wait(lambda: current(ui) == "#Blabla", "Blabla to open")
        await ui.wait(lambda: unread(ui, blabla) == 0, "Blabla read")
        await ui.settle()
        assert (await server_unread(server.port, "alice"))["#Blabla"] == 0
        mentioned = [line for line in ui.chat.query(MessageLine) if line.has_class("-mention")]
        assert [line.msg_id for line in mentioned] == [ui.chat.query(MessageLine).last().msg_id]


async def test_history_pages_load_at_the_top(tmp_path: Path, config_dir: Path) -> None:
    async with running_server(str(tmp_path / "chat.db"), request_rate=0) as server:
        bob = await register(server.port, "bob")
        for n in range(1, 121):
            await bob.call(m.Send, room="Général", body=f"message {n}")
        async with drive(make_app(server.port, config_dir)) as ui:
            await ui.log_in("alice")

            def numbers() -> list[int]:
                return [int(line.rsplit(" ", 1)[1]) for line in ui.lines()]

            assert numbers() == list(range(71, 121))
            for expected in (100, 120):
                for _ in range(40):  # PageUp until the page before has arrived
                    if len(numbers()) >= expected:
                        break
                    await ui.pilot.press("pageup")
                    await ui.settle()
                assert numbers() == list(range(121 - expected, 121))
            assert (
                ui.chat.query_one("#messages").scroll_y
                < ui.chat.query_one("#messages").max_scroll_y
            )


async def test_commands_completion_and_input_history(server: ChatServer, config_dir: Path) -> None:
    await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/who")
        assert notes(ui)[-1] == "In #Général: online alice, bob"
        await ui.type("/frobnicate")
        assert notes(ui)[-1] == "unknown command /frobnicate (/help lists them)"
        await ui.type("/join")
        assert notes(ui)[-1] == "usage: /join ROOM"
        field = ui.chat.query_one(ChatInput)
        assert field.value == "/join"  # kept, to be put right
        await ui.pilot.press("ctrl+u", *"/jo", "tab", *"Bla", "tab")
        assert field.value == "/join Blabla "
        await ui.pilot.press("ctrl+u", *"hi b", "tab")
        assert field.value == "hi bob "
        await ui.pilot.press("ctrl+u", "ctrl+up")
        assert field.value == "/join"
        await ui.pilot.press("up", "down", "down")  # once walking, Up goes on walking
        assert field.value == ""
        await ui.type("/help")
        await ui.wait(lambda: isinstance(ui.app.screen, HelpScreen), "the help")
        await ui.pilot.press("escape")
        await ui.type("/leave")
        assert "You left Général." in notes(ui)
        assert Target.room("Général") not in ui.app.session.state.rooms.values()  # type: ignore[union-attr]
        await ui.wait(lambda: current(ui) == "@bob" or current(ui) == "", "Général to close")


async def test_keys_move_between_rooms(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await bob.call(m.Dm, to="alice", body="hi")
        await ui.type("/join Blabla")
        await ui.wait(lambda: current(ui) == "#Blabla", "Blabla")
        # The order: #Blabla, #Général, @bob.
        await ui.pilot.press("alt+3")
        await ui.wait(lambda: current(ui) == "@bob", "alt+3")
        await ui.pilot.press("ctrl+n")
        await ui.wait(lambda: current(ui) == "#Blabla", "ctrl+n wraps")
        await ui.pilot.press("ctrl+p")
        await ui.wait(lambda: current(ui) == "@bob", "ctrl+p wraps")
        await ui.pilot.press("ctrl+k")
        await ui.wait(lambda: isinstance(ui.app.screen, QuickSwitcher), "the switcher")
        await ui.pilot.press(*"gén", "enter")
        await ui.wait(lambda: current(ui) == "#Général", "the switcher's choice")
        await ui.pilot.press("f1")
        await ui.wait(lambda: isinstance(ui.app.screen, HelpScreen), "the help")
        await ui.pilot.press("escape")
        await ui.settle()


async def test_events_update_the_screen(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        users = ui.chat.query_one(UserList)
        await ui.wait(lambda: "● bob" in rendered(users), "bob online")
        carol = await register(server.port, "carol")
        await ui.wait(lambda: "● carol" in rendered(users), "carol's arrival")
        await bob.close()
        await ui.wait(lambda: "○ bob" in rendered(users), "bob offline")
        lines = rendered(users).splitlines()
        assert lines.index("● carol") < lines.index("○ bob"), lines  # online first
        await carol.call(m.Leave, room="Général")
        await ui.wait(lambda: "carol" not in rendered(users), "carol's departure")
        await Admin(server).add_rooms(["Jardinage"], approval=False)
        await Admin(server).notice("maintenance at [b]noon[/b]")
        await ui.wait(lambda: len(ui.toasts()) >= 2, "two toasts")
        toasts = [(t.message, t.markup) for t in ui.toasts()]
        assert ("A new room was created: Jardinage", False) in toasts
        assert ("maintenance at [b]noon[/b]", False) in toasts
        assert "Jardinage" in ui.app.session.state.room_names()  # type: ignore[union-attr]
