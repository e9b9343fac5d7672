"""The network client, with no Textual: requests by id, events, a lost connection."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import trustme

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_core.framing import FrameDecoder
from chat_srv.server import ChatServer
from chat_tui.cli import ssl_context
from chat_tui.client import ChatClient, new_nonce
from tests.helpers import PASSWORD, TIMEOUT, register, running_server

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[int]:
    """A bare TCP server running `handler` per connection; its port."""
    tasks: list[asyncio.Task[None]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.append(task)
        try:
            await handler(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield listener.sockets[0].getsockname()[1]
    finally:
        listener.close()
        await listener.wait_closed()
        await asyncio.gather(*tasks, return_exceptions=True)


async def read_requests(reader: asyncio.StreamReader, count: int) -> list[m.Request]:
    decoder = FrameDecoder(64 * 1024)
    requests: list[m.Request] = []
    while len(requests) < count:
        data = await reader.read(4096)
        assert data, "the client closed early"
        requests += [m.decode_request(payload) for payload in decoder.feed(data)]
    return requests


@contextlib.asynccontextmanager
async def reading(client: ChatClient) -> AsyncIterator[asyncio.Queue[m.Event | None]]:
    """Run the client's reader; its events land in the queue, then None at the end."""
    events: asyncio.Queue[m.Event | None] = asyncio.Queue()

    async def run() -> None:
        async with contextlib.aclosing(client.events()) as stream:
            async for event in stream:
                events.put_nowait(event)
        events.put_nowait(None)

    task = asyncio.create_task(run())
    try:
        yield events
    finally:
        await client.close()
        async with asyncio.timeout(TIMEOUT):
            await task


async def test_requests_replies_and_events(server: ChatServer) -> None:
    bob = await register(server.port, "bob")
    client = ChatClient("127.0.0.1", server.port)
    await client.connect()
    async with reading(client) as events:
        reply = await client.register("alice", PASSWORD)
        assert (reply.user, [room.name for room in reply.rooms if room.state == m.MEMBER]) == (
            "alice",
            ["Général"],
        )
        with pytest.raises(ProtocolError) as refused:
            await client.join("Nowhere")
        assert refused.value.code == ErrorCode.NO_SUCH_ROOM
        page, who = await asyncio.gather(client.history(room="Général"), client.who("Général"))
        assert page.messages == []
        assert {user.name for user in who} == {"alice", "bob"}
        await bob.call(m.Send, room="Général", body="hello")
        async with asyncio.timeout(TIMEOUT):
            while not isinstance(event := await events.get(), m.Message):
                pass
        assert (event.sender, event.body, event.room) == ("bob", "hello", "Général")
    assert client.closed


async def test_a_resend_with_the_same_nonce_is_stored_once(server: ChatServer) -> None:
    client = ChatClient("127.0.0.1", server.port)
    await client.connect()
    async with reading(client):
        await client.register("alice", PASSWORD)
        nonce = new_nonce()
        first = await client.send("Général", "only once", nonce)
        again = await client.send("Général", "only once", nonce)
        assert (again.msg_id, again.ts) == (first.msg_id, first.ts)
        page = await client.history(room="Général")
        assert [msg.body for msg in page.messages] == ["only once"]


async def test_replies_are_matched_by_id() -> None:
    async def answer_backwards(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first, second = await read_requests(reader, 2)
        writer.write(m.encode(m.WhoOk(id=second.id, users=[m.UserInfo(name="b", online=True)])))
        writer.write(m.encode(m.WhoOk(id=first.id, users=[m.UserInfo(name="a", online=True)])))
        await writer.drain()
        await reader.read()  # until the client closes

    async with raw_server(answer_backwards) as port:
        client = ChatClient("127.0.0.1", port)
        await client.connect()
        async with reading(client):
            a, b = await asyncio.gather(client.who("A"), client.who("B"))
        assert ([u.name for u in a], [u.name for u in b]) == (["a"], ["b"])


async def test_a_lost_connection_fails_what_is_pending_at_once() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_requests(reader, 1)
        writer.write(m.encode(m.Notice(text="bye")))
        writer.write(b"\x00\x00\x00\x10partial")  # a frame cut short: the link died

    async with raw_server(hang_up) as port:
        client = ChatClient("127.0.0.1", port)
        await client.connect()
        async with reading(client) as events:
            with pytest.raises(ConnectionError):
                await client.ping()
            assert await events.get() == m.Notice(text="bye")
            assert await events.get() is None
            assert isinstance(client.lost, asyncio.IncompleteReadError)
            with pytest.raises(ConnectionError):
                await client.ping()


async def test_an_unreachable_server_raises_oserror(server: ChatServer) -> None:
    port = server.port
    await server.stop()
    client = ChatClient("127.0.0.1", port)
    with pytest.raises(OSError):
        await client.connect()


async def test_tls_with_the_cli_options(tmp_path: Path) -> None:
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1")
    cert_file, key_file, ca_file = (tmp_path / name for name in ("c.pem", "k.pem", "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    authority.cert_pem.write_to_path(str(ca_file))
    db = str(tmp_path / "chat.db")
    async with running_server(db, tls_cert=str(cert_file), tls_key=str(key_file)) as server:
        context = ssl_context(tls=False, ca=ca_file, insecure=False)
        client = ChatClient("127.0.0.1", server.port, ssl_context=context)
        await client.connect()
        async with reading(client):
            assert (await client.register("alice", PASSWORD)).user == "alice"
        untrusted = ChatClient("127.0.0.1", server.port, ssl_context=ssl.create_default_context())
        with pytest.raises(OSError):  # the certificate is not trusted: refused, plainly
            await untrusted.connect()


def test_the_data_layer_imports_no_textual() -> None:
    code = (
        "import sys, chat_tui.client, chat_tui.state, chat_tui.session, chat_tui.commands, "
        "chat_tui.config, chat_tui.render, chat_tui.cli\n"
        "assert not [n for n in sys.modules if n.split('.')[0] == 'textual'], 'textual'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
