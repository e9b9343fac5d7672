"""Messages that change, over real sockets on both stores: edits, deletions, reactions,
replies, `/me` lines, and `changes` for a client that was away."""

from __future__ import annotations

import logging

import pytest

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.server import ChatServer
from tests.console import run
from tests.helpers import PASSWORD, Client, console_heard, register


async def console(server: ChatServer, line: str) -> str:
    return await run(CommandLine(Admin(server)), line)


async def test_an_edit_is_stored_announced_and_shown_in_history(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    sent = await alice.call(m.Send, room="Général", body="helo")
    edited = await alice.call(m.Edit, msg_id=sent.msg_id, body="hello")
    assert edited.change_id == 1
    for client in (alice, bob):
        event = await client.event(m.Edited, msg_id=sent.msg_id)
        assert (event.change_id, event.body, event.sender, event.room) == (
            1,
            "hello",
            "alice",
            "Général",
        )
    (message,) = (await bob.call(m.History, room="Général")).messages
    assert (message.body, message.edited) == ("hello", event.edited)
    again = await alice.call(m.Edit, msg_id=sent.msg_id, body="hello!")
    assert again.change_id == 2


async def test_only_the_sender_edits(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    sent = await alice.call(m.Send, room="Général", body="mine")
    assert (await bob.fails(m.Edit, msg_id=sent.msg_id, body="yours")).code is (ErrorCode.FORBIDDEN)
    assert (await alice.fails(m.Edit, msg_id=sent.msg_id + 100, body="x")).code is (
        ErrorCode.NO_SUCH_MESSAGE
    )
    (message,) = (await alice.call(m.History, room="Général")).messages
    assert (message.body, message.edited) == ("mine", None)


async def test_a_message_one_cannot_read_is_no_such_message(both: ChatServer) -> None:
    """Not a member of the room, or not a party to the DM: the same answer as no message."""
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    carol = await register(both.port, "carol")
    await alice.call(m.Join, room="Blabla")
    in_room = await alice.call(m.Send, room="Blabla", body="for Blabla")
    private = await alice.call(m.Dm, to="bob", body="for bob")
    for msg_id in (in_room.msg_id, private.msg_id):
        for kind, fields in (
            (m.Delete, {}),
            (m.React, {"emoji": "👍", "on": True}),
            (m.Edit, {"body": "x"}),
        ):
            error = await carol.fails(kind, msg_id=msg_id, **fields)
            assert error.code is ErrorCode.NO_SUCH_MESSAGE, (kind, msg_id)
    # Bob can read the DM: he may react, not edit or delete it.
    await bob.call(m.React, msg_id=private.msg_id, emoji="👍", on=True)
    assert (await bob.fails(m.Edit, msg_id=private.msg_id, body="x")).code is (ErrorCode.FORBIDDEN)
    assert (await bob.fails(m.Delete, msg_id=private.msg_id)).code is ErrorCode.FORBIDDEN


async def test_a_deletion_removes_the_body_from_the_store(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    sent = await alice.call(m.Send, room="Général", body="first draft")
    await alice.call(m.Edit, msg_id=sent.msg_id, body="secret second draft")
    await bob.call(m.React, msg_id=sent.msg_id, emoji="🎉", on=True)
    kept = await alice.call(m.Send, room="Général", body="stays")
    deleted = await alice.call(m.Delete, msg_id=sent.msg_id)
    event = await bob.event(m.Deleted, msg_id=sent.msg_id)
    assert (event.change_id, event.by, event.room) == (deleted.change_id, "alice", "Général")
    page = (await bob.call(m.History, room="Général")).messages
    assert [msg.msg_id for msg in page] == [sent.msg_id, kept.msg_id]
    assert page[0] == m.Message(
        msg_id=sent.msg_id, ts=page[0].ts, sender="alice", room="Général", deleted=True
    )
    # Neither the body nor its versions are anywhere in the store.
    since = await both.store.messages_since(0)
    assert [(s.body, s.deleted) for s in since] == [("", True), ("stays", False)]
    replay = (await bob.call(m.Changes, since=0)).changes
    assert [type(c) for c in replay] == [m.Deleted]  # the edit and reaction went with it
    # Nothing more can happen to it.
    for kind, fields in (
        (m.Delete, {}),
        (m.Edit, {"body": "back"}),
        (m.React, {"emoji": "👍", "on": True}),
    ):
        error = await alice.fails(kind, msg_id=sent.msg_id, **fields)
        assert error.code is ErrorCode.NO_SUCH_MESSAGE


async def test_moderators_delete_room_messages_not_dms(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    mia = await register(both.port, "mia")
    await console(both, "op mia moderator")
    await console_heard(both, mia)
    await alice.call(m.Join, room="Blabla")
    loud = await alice.call(m.Send, room="Blabla", body="spam spam")  # mia is not in Blabla
    private = await alice.call(m.Dm, to="mia", body="psst")
    done = await mia.call(m.Delete, msg_id=loud.msg_id)
    event = await alice.event(m.Deleted, msg_id=loud.msg_id)
    assert (event.change_id, event.by) == (done.change_id, "mia")
    assert (await mia.fails(m.Delete, msg_id=private.msg_id)).code is ErrorCode.FORBIDDEN
    bob = await register(both.port, "bob")
    general = await bob.call(m.Send, room="Général", body="hi")
    assert (await alice.fails(m.Delete, msg_id=general.msg_id)).code is ErrorCode.FORBIDDEN


async def test_reactions_toggle_per_user(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    carol = await register(both.port, "carol")
    sent = await alice.call(m.Send, room="Général", body="ship it?")
    first = await bob.call(m.React, msg_id=sent.msg_id, emoji="👍", on=True)
    await carol.call(m.React, msg_id=sent.msg_id, emoji="👍", on=True)
    await alice.call(m.React, msg_id=sent.msg_id, emoji="🎉", on=True)
    # Putting it on twice changes nothing: no new change, the newest id so far.
    twice = await bob.call(m.React, msg_id=sent.msg_id, emoji="👍", on=True)
    assert twice.change_id == first.change_id + 2
    (message,) = (await alice.call(m.History, room="Général")).messages
    assert message.reactions == {"👍": ["bob", "carol"], "🎉": ["alice"]}
    off = await bob.call(m.React, msg_id=sent.msg_id, emoji="👍", on=False)
    event = await alice.event(m.Reaction, change_id=off.change_id)
    assert (event.user, event.emoji, event.on, event.room) == ("bob", "👍", False, "Général")
    await carol.call(m.React, msg_id=sent.msg_id, emoji="🎉", on=False)  # was not on
    (message,) = (await alice.call(m.History, room="Général")).messages
    assert message.reactions == {"👍": ["carol"], "🎉": ["alice"]}
    await carol.call(m.React, msg_id=sent.msg_id, emoji="👍", on=False)
    await alice.call(m.React, msg_id=sent.msg_id, emoji="🎉", on=False)
    (message,) = (await alice.call(m.History, room="Général")).messages
    assert message.reactions is None


async def test_replies_and_actions(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    question = await alice.call(m.Send, room="Général", body="lunch?")
    answer = await bob.call(m.Send, room="Général", body="yes", reply_to=question.msg_id)
    wave = await bob.call(m.Send, room="Général", body="waves", action=True)
    live = await alice.event(m.Message, msg_id=answer.msg_id)
    assert (live.reply_to, live.action) == (question.msg_id, False)
    assert (await alice.event(m.Message, msg_id=wave.msg_id)).action
    page = (await alice.call(m.History, room="Général")).messages
    assert [(msg.reply_to, msg.action) for msg in page] == [
        (None, False),
        (question.msg_id, False),
        (None, True),
    ]
    dm = await alice.call(m.Dm, to="bob", body="psst")
    back = await bob.call(m.Dm, to="alice", body="what?", reply_to=dm.msg_id)
    (_, reply) = (await alice.call(m.History, peer="bob")).messages
    assert (reply.msg_id, reply.reply_to) == (back.msg_id, dm.msg_id)


async def test_a_reply_stays_in_its_room_or_conversation(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    await alice.call(m.Join, room="Blabla")
    elsewhere = await alice.call(m.Send, room="Blabla", body="in Blabla")
    dm = await alice.call(m.Dm, to="bob", body="psst")
    for fields in (
        {"room": "Général", "reply_to": elsewhere.msg_id},
        {"room": "Général", "reply_to": dm.msg_id},
        {"room": "Général", "reply_to": dm.msg_id + 1000},
    ):
        error = await alice.fails(m.Send, body="re", **fields)
        assert error.code is ErrorCode.BAD_REQUEST
        assert "reply_to" in error.message
    assert (await alice.fails(m.Dm, to="bob", body="re", reply_to=elsewhere.msg_id)).code is (
        ErrorCode.BAD_REQUEST
    )
    # Nothing was stored or announced for them.
    assert (await bob.call(m.History, room="Général")).messages == []
    ok = await alice.call(m.Send, room="Blabla", body="re", reply_to=elsewhere.msg_id)
    assert ok.msg_id > dm.msg_id


async def test_a_client_that_was_away_catches_every_change(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await Client.connect(both.port)
    seen = (await bob.call(m.Register, user="bob", password=PASSWORD)).last_change_id
    assert seen == 0
    one = await alice.call(m.Send, room="Général", body="one")
    two = await alice.call(m.Send, room="Général", body="two")
    dm = await alice.call(m.Dm, to="bob", body="three")
    await bob.close()
    await alice.call(m.Edit, msg_id=one.msg_id, body="one, edited")
    await alice.call(m.React, msg_id=two.msg_id, emoji="👀", on=True)
    await alice.call(m.Delete, msg_id=dm.msg_id)
    await alice.call(m.Edit, msg_id=two.msg_id, body="two, edited")
    back = await Client.connect(both.port)
    assert (await back.call(m.Login, user="bob", password=PASSWORD)).last_change_id == 4
    first = await back.call(m.Changes, since=seen, limit=3)
    assert first.more
    rest = await back.call(m.Changes, since=first.changes[-1].change_id, limit=3)
    assert not rest.more
    changes = [*first.changes, *rest.changes]
    assert [c.change_id for c in changes] == [1, 2, 3, 4]
    assert changes[0] == m.Edited(
        change_id=1,
        msg_id=one.msg_id,
        sender="alice",
        body="one, edited",
        edited=changes[0].edited,
        room="Général",
    )
    assert changes[1] == m.Reaction(
        change_id=2,
        msg_id=two.msg_id,
        user="alice",
        emoji="👀",
        on=True,
        room="Général",
        sender="alice",
    )
    assert changes[2] == m.Deleted(
        change_id=3, msg_id=dm.msg_id, by="alice", to="bob", sender="alice"
    )
    assert isinstance(changes[3], m.Edited)
    assert changes[3].body == "two, edited"
    assert (await back.call(m.Changes, since=4)).changes == []


async def test_changes_show_only_what_one_can_read(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    carol = await register(both.port, "carol")
    await alice.call(m.Join, room="Blabla")
    in_blabla = await alice.call(m.Send, room="Blabla", body="blabla")
    to_bob = await alice.call(m.Dm, to="bob", body="for bob")
    in_general = await alice.call(m.Send, room="Général", body="général")
    await alice.call(m.Edit, msg_id=in_blabla.msg_id, body="blabla!")
    await alice.call(m.Edit, msg_id=to_bob.msg_id, body="for bob!")
    await alice.call(m.Edit, msg_id=in_general.msg_id, body="général!")
    seen = {
        client.name: [c.msg_id for c in (await client.call(m.Changes, since=0)).changes]
        for client in (alice, bob, carol)
    }
    assert seen == {
        "alice": [in_blabla.msg_id, to_bob.msg_id, in_general.msg_id],
        "bob": [to_bob.msg_id, in_general.msg_id],
        "carol": [in_general.msg_id],
    }
    # Leaving a room takes its changes away; joining brings them.
    await alice.call(m.Leave, room="Blabla")
    await carol.call(m.Join, room="Blabla")
    assert [c.msg_id for c in (await alice.call(m.Changes, since=0)).changes] == [
        to_bob.msg_id,
        in_general.msg_id,
    ]
    assert in_blabla.msg_id in [c.msg_id for c in (await carol.call(m.Changes, since=0)).changes]


async def test_redact_on_the_console_is_logged(
    both: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    sent = await alice.call(m.Send, room="Général", body="rude words")
    private = await alice.call(m.Dm, to="bob", body="rude DM")
    with caplog.at_level(logging.INFO, logger="chat_srv"):
        out = await console(both, f"redact {sent.msg_id} insults")
    assert out == f"message {sent.msg_id} deleted: insults\n"
    assert f"console: redacted message {sent.msg_id}, reason 'insults'" in caplog.text
    event = await bob.event(m.Deleted, msg_id=sent.msg_id)
    assert event.by == "console"
    assert (await console(both, f"redact {sent.msg_id} again")).startswith(
        f"error: no message {sent.msg_id}"
    )
    assert (await console(both, "redact 12x spam")).startswith("error: 12x is not a message id")
    assert (await console(both, f"redact {private.msg_id}")).startswith("error: missing")
    # The operator may redact a DM; a moderator may not.
    mia = await register(both.port, "mia")
    await console(both, "op mia moderator")
    await console_heard(both, mia)
    refused = await mia.fails(m.Moderate, command=f"redact {private.msg_id} harassment")
    assert refused.code is ErrorCode.BAD_REQUEST
    assert "not direct messages" in refused.message
    await console(both, f"redact {private.msg_id} harassment")
    assert (await bob.event(m.Deleted, msg_id=private.msg_id)).to == "bob"
    table = await console(both, "messages 1h")
    assert "(deleted)" in table
    assert "rude" not in table


async def test_the_messages_command_shows_edits_replies_and_actions(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    sent = await alice.call(m.Send, room="Général", body="helo")
    await alice.call(m.Edit, msg_id=sent.msg_id, body="hello")
    await alice.call(m.Send, room="Général", body="waves", action=True, reply_to=sent.msg_id)
    table = await console(both, "messages 1h")
    assert "hello (edited)" in table
    assert f"↪ {sent.msg_id} * waves" in table
