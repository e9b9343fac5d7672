"""Jumping to a message far back (what the search view does): the messages around it,
selected; newer pages as the user goes down; live messages waiting for them; and back
to the present on leaving or sending."""

from __future__ import annotations

from pathlib import Path

from chat_core import messages as m
from chat_srv.server import ChatServer
from chat_tui.conversation import Conversation, Target
from chat_tui.widgets.message_pane import MessagePane
from tests.helpers import register
from tests.tui.helpers import Driver, drive, make_app

GENERAL = Target.room("Général")


def general(ui: Driver) -> Conversation:
    assert ui.app.session is not None
    conv = ui.app.session.state.conversation(GENERAL)
    assert conv is not None
    return conv


def bodies(ui: Driver) -> list[str]:
    return [line.split(" ", 2)[2] for line in ui.lines()]


async def test_a_jump_back_in_time_and_down_to_the_present(
    unlimited_server: ChatServer, config_dir: Path
) -> None:
    server = unlimited_server
    alice = await register(server.port, "alice")
    await alice.close()
    bob = await register(server.port, "bob")
    ids = [(await bob.call(m.Send, room="Général", body=f"m{n}")).msg_id for n in range(1, 121)]
    async with drive(make_app(server.port, config_dir), size=(80, 40)) as ui:
        await ui.log_in("alice", register=False)
        assert bodies(ui)[0] == "m71"  # the newest page: 50
        pane = ui.chat.query_one(MessagePane)
        ui.chat.open_target(GENERAL, around=ids[9])
        await ui.wait(lambda: pane.selected == ids[9], "m10 selected")
        await ui.settle()
        assert bodies(ui) == [f"m{n}" for n in range(1, 61)]  # 10 before (all), 50 after
        assert general(ui).more_after
        assert pane.more_after
        assert not general(ui).more_before
        assert ui.app.focused is pane

        live = await bob.call(m.Send, room="Général", body="live")
        await bob.sync()
        await ui.wait(lambda: general(ui).unread == 1, "the live message counted")
        assert "live" not in bodies(ui)  # it comes with the pages, in its place

        for _ in range(20):
            if not general(ui).more_after:
                break
            await ui.pilot.press("pagedown")
            await ui.settle()
        assert not general(ui).more_after
        assert bodies(ui) == [f"m{n}" for n in range(1, 121)] + ["live"]
        await ui.wait(lambda: general(ui).unread == 0, "read once at the present")
        page = await bob.call(m.History, room="Général", limit=1)
        assert page.messages[-1].msg_id == live.msg_id

        ui.chat.open_target(GENERAL, around=ids[115])  # held already: no loading
        await ui.wait(lambda: pane.selected == ids[115], "m116 selected")
        assert not general(ui).more_after


async def test_leaving_or_sending_goes_back_to_the_present(
    unlimited_server: ChatServer, config_dir: Path
) -> None:
    server = unlimited_server
    alice = await register(server.port, "alice")
    await alice.call(m.Join, room="Blabla")
    await alice.close()
    bob = await register(server.port, "bob")
    ids = [(await bob.call(m.Send, room="Général", body=f"m{n}")).msg_id for n in range(1, 121)]
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice", register=False)
        pane = ui.chat.query_one(MessagePane)
        ui.chat.open_target(GENERAL, around=ids[0])
        await ui.wait(lambda: pane.selected == ids[0], "m1 selected")
        ui.chat.open_target(Target.room("Blabla"))
        await ui.settle()
        assert not general(ui).loaded  # the window is forgotten
        ui.chat.open_target(GENERAL)
        await ui.settle()
        await ui.wait(lambda: bodies(ui)[-1:] == ["m120"], "the present again")
        assert bodies(ui)[0] == "m71"

        ui.chat.open_target(GENERAL, around=ids[0])
        await ui.wait(lambda: pane.selected == ids[0], "m1 selected again")
        await ui.type("back to now")
        await ui.wait(lambda: bodies(ui)[-1:] == ["back to now"], "the message at the bottom")
        assert not general(ui).more_after
        assert bodies(ui)[-2:] == ["m120", "back to now"]

        ui.chat.open_target(GENERAL, around=ids[60])  # just before those held: they join
        await ui.wait(lambda: pane.selected == ids[60], "m61 selected")
        assert not general(ui).more_after
        assert bodies(ui) == [f"m{n}" for n in range(12, 121)] + ["back to now"]
        assert general(ui).more_before


async def test_a_jump_to_a_message_not_there(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    await bob.call(m.Join, room="Blabla")
    sent = await bob.call(m.Send, room="Blabla", body="elsewhere")  # not in Général
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        ui.chat.open_target(GENERAL, around=sent.msg_id)
        await ui.wait(lambda: any("is gone" in t.message for t in ui.toasts()), "the warning")
        assert not general(ui).more_after


async def test_g_on_a_reply_goes_to_the_message_it_quotes(
    unlimited_server: ChatServer, config_dir: Path
) -> None:
    server = unlimited_server
    alice = await register(server.port, "alice")
    await alice.close()
    bob = await register(server.port, "bob")
    first = await bob.call(m.Send, room="Général", body="the question")
    for n in range(1, 81):
        await bob.call(m.Send, room="Général", body=f"m{n}")
    await bob.call(m.Send, room="Général", body="the answer", reply_to=first.msg_id)
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice", register=False)
        await ui.pilot.press("up")  # the newest: the reply
        pane = ui.chat.query_one(MessagePane)
        await ui.wait(lambda: pane.selected is not None, "the reply selected")
        await ui.pilot.press("g")
        await ui.wait(lambda: pane.selected == first.msg_id, "the question selected")
        assert not general(ui).more_after  # the page after it joins those held
        assert bodies(ui)[:-1] == ["the question", *(f"m{n}" for n in range(1, 81))]
        assert bodies(ui)[-1].endswith("bob the answer")  # under its quote
