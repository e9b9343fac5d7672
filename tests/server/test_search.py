"""Message search over real sockets on both stores: the query language, who may find
what, edits and deletions, paging, and hostile queries."""

from __future__ import annotations

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.server import ChatServer
from tests.console import run
from tests.helpers import Client, register
from tests.store.test_search_query import HOSTILE


async def bodies(client: Client, query: str, **fields: object) -> list[str | None]:
    """The bodies of what `query` finds for `client`, newest first."""
    found = await client.call(m.Search, query=query, **fields)
    assert isinstance(found, m.SearchOk)
    return [message.body for message in found.messages]


async def test_words_phrases_prefixes_case_and_accents(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    for body in (
        "Réunion au Général demain",
        "le mot de passe du wifi",
        "passe-moi le mot",
        "DEPLOYMENT done",
        "deployed to prod",
    ):
        await alice.call(m.Send, room="Général", body=body)
    assert await bodies(bob, "general") == ["Réunion au Général demain"]
    assert await bodies(bob, "GÉNÉRAL réunion") == ["Réunion au Général demain"]
    assert await bodies(bob, "général soir") == []
    assert await bodies(bob, '"mot de passe"') == ["le mot de passe du wifi"]
    assert await bodies(bob, "mot passe") == ["passe-moi le mot", "le mot de passe du wifi"]
    assert await bodies(bob, "deploy*") == ["deployed to prod", "DEPLOYMENT done"]
    assert await bodies(bob, "deploy") == []


async def test_only_rooms_one_is_in_and_ones_own_conversations(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    carol = await register(both.port, "carol")
    await alice.call(m.Join, room="Blabla")
    await bob.call(m.Join, room="Blabla")
    for client in (alice, bob, carol):
        assert (await client.call(m.Join, room="Comptabilité")).state == m.PENDING
    await alice.call(m.Send, room="Général", body="budget in Général")
    await alice.call(m.Send, room="Blabla", body="budget in Blabla")
    await alice.call(m.Dm, to="bob", body="budget for bob")
    await carol.call(m.Dm, to="alice", body="budget from carol")
    await run(CommandLine(Admin(both)), "accept pending alice Comptabilité")
    await run(CommandLine(Admin(both)), "accept pending carol Comptabilité")
    for client in (alice, carol):  # their nodes have it
        await client.event(m.Member, room="Comptabilité", user=client.name)
    await carol.call(m.Send, room="Comptabilité", body="budget in Comptabilité")

    assert await bodies(alice, "budget") == [
        "budget in Comptabilité",
        "budget from carol",
        "budget for bob",
        "budget in Blabla",
        "budget in Général",
    ]
    # Bob: not Comptabilité (still pending), not carol's conversation with alice.
    assert await bodies(bob, "budget") == [
        "budget for bob",
        "budget in Blabla",
        "budget in Général",
    ]
    # Carol: not Blabla, not alice's conversation with bob.
    assert await bodies(carol, "budget") == [
        "budget in Comptabilité",
        "budget from carol",
        "budget in Général",
    ]
    # A room left is a room no longer searched.
    await bob.call(m.Leave, room="Blabla")
    assert await bodies(bob, "budget") == ["budget for bob", "budget in Général"]


async def test_narrowed_to_a_room_or_a_peer(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    await register(both.port, "carol")
    await alice.call(m.Join, room="Blabla")
    await alice.call(m.Send, room="Général", body="notes from Général")
    await alice.call(m.Send, room="Blabla", body="notes from Blabla")
    await alice.call(m.Dm, to="bob", body="notes for bob")
    await alice.call(m.Dm, to="carol", body="notes for carol")
    assert await bodies(alice, "notes", room="Blabla") == ["notes from Blabla"]
    assert await bodies(alice, "notes", room="blabla") == ["notes from Blabla"]
    assert await bodies(alice, "notes", peer="bob") == ["notes for bob"]
    assert await bodies(bob, "notes", peer="alice") == ["notes for bob"]
    assert await bodies(bob, "notes", peer="carol") == []
    cases = [
        ({"room": "Blabla"}, ErrorCode.NOT_MEMBER),  # bob is not in Blabla
        ({"room": "Comptabilité"}, ErrorCode.NOT_MEMBER),
        ({"room": "Nowhere"}, ErrorCode.NO_SUCH_ROOM),
        ({"peer": "nobody"}, ErrorCode.NO_SUCH_USER),
        ({"room": "not a name"}, ErrorCode.INVALID_NAME),
        ({"room": "Blabla", "peer": "alice"}, ErrorCode.BAD_REQUEST),
    ]
    for fields, code in cases:
        assert (await bob.fails(m.Search, query="notes", **fields)).code is code, fields


async def test_deleted_never_match_and_edits_by_their_current_body(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    draft = await alice.call(m.Send, room="Général", body="the first draft")
    secret = await alice.call(m.Dm, to="bob", body="secret plan")
    await alice.call(m.Send, room="Général", body="the plan for friday")
    await alice.call(m.Edit, msg_id=draft.msg_id, body="the final text")
    await alice.call(m.Delete, msg_id=secret.msg_id)
    assert await bodies(bob, "draft") == []
    assert await bodies(bob, "final") == ["the final text"]
    assert await bodies(bob, "secret") == []
    assert await bodies(bob, "plan") == ["the plan for friday"]
    # A moderator's redaction too.
    await run(CommandLine(Admin(both)), f"redact {draft.msg_id} spam")
    assert await bodies(bob, "final") == []


async def test_results_are_what_history_shows(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "bob")
    first = await alice.call(m.Send, room="Général", body="release candidate one")
    await bob.call(m.Send, room="Général", body="release waves", action=True)
    await bob.call(m.Send, room="Général", body="release?", reply_to=first.msg_id)
    await bob.call(m.React, msg_id=first.msg_id, emoji="🚀", on=True)
    await alice.call(m.Edit, msg_id=first.msg_id, body="release candidate two")
    found = await alice.call(m.Search, query="release")
    history = await alice.call(m.History, room="Général")
    assert found.messages == list(reversed(history.messages))
    assert not found.more
    oldest = found.messages[-1]
    assert (oldest.body, oldest.reactions, oldest.edited is not None) == (
        "release candidate two",
        {"🚀": ["bob"]},
        True,
    )
    assert (found.messages[0].reply_to, found.messages[1].action) == (first.msg_id, True)


async def test_paging_backwards_with_before_and_more(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    sent = [
        (await alice.call(m.Send, room="Général", body=f"log line {i}")).msg_id for i in range(5)
    ]
    await alice.call(m.Send, room="Général", body="unrelated")
    page = await alice.call(m.Search, query="log", limit=2)
    assert ([msg.msg_id for msg in page.messages], page.more) == ([sent[4], sent[3]], True)
    page = await alice.call(m.Search, query="log", limit=2, before=sent[3])
    assert ([msg.msg_id for msg in page.messages], page.more) == ([sent[2], sent[1]], True)
    page = await alice.call(m.Search, query="log", limit=2, before=sent[1])
    assert ([msg.msg_id for msg in page.messages], page.more) == ([sent[0]], False)
    everything = await alice.call(m.Search, query="log")
    assert len(everything.messages) == 5
    assert not everything.more


async def test_hostile_queries_get_results_or_bad_request(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    await alice.call(m.Send, room="Général", body='x OR y NEAR(z) "quoted" -minus col:umn')
    for query in [*HOSTILE, "é" * 200, "a" * 200, '"' * 200, "OR", "NEAR", "AND NOT"]:
        reply = await alice.read_reply(await alice.send_request(m.Search, query=query))
        if reply.ok:
            reply.result(m.SearchOk)
            continue
        fields = reply.fields
        assert fields["code"] == "bad_request", (query, fields)
        assert "word" in fields["message"] or "characters" in fields["message"], fields
    # Operators are words, found as typed.
    assert await bodies(alice, "OR NEAR") == ['x OR y NEAR(z) "quoted" -minus col:umn']
    assert await bodies(alice, "col:umn -minus") == ['x OR y NEAR(z) "quoted" -minus col:umn']
    error = await alice.fails(m.Search, query="!!! ??? 👍")
    assert error.code is ErrorCode.BAD_REQUEST
    assert error.message == "a search needs at least one word (letters or digits)"
    # One-letter words are words on both backends.
    assert await bodies(alice, "x y") == ['x OR y NEAR(z) "quoted" -minus col:umn']
    assert (await alice.fails(m.Search, query="")).code is ErrorCode.BAD_REQUEST
    assert (await alice.fails(m.Search, query="a" * 201)).code is ErrorCode.BAD_REQUEST
    # The connection is still fine.
    await alice.sync()


async def test_search_needs_a_login(both: ChatServer) -> None:
    client = await Client.connect(both.port)
    assert (await client.fails(m.Search, query="x")).code is ErrorCode.NOT_LOGGED_IN
