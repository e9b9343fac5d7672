"""TLS connections count against the limits from `accept`, and their handshake has a deadline.

A socket that opens the TLS port and never sends a ClientHello holds a file
descriptor like any other: it is counted from the moment it is accepted, refused
past the caps, and closed when its handshake takes too long.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from chat_core import messages as m
from chat_srv.admin import Admin
from chat_srv.server import ChatServer
from tests.helpers import PASSWORD, TIMEOUT, Client, running_server


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    """A certificate authority of the tests' own."""
    return trustme.CA()


@pytest.fixture
def certificate(tmp_path: Path, authority: trustme.CA) -> tuple[str, str]:
    """The server's certificate and key files, for 127.0.0.1."""
    cert = authority.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    return str(cert_file), str(key_file)


@contextlib.asynccontextmanager
async def tls_server(
    db_path: str, certificate: tuple[str, str], **settings: Any
) -> AsyncIterator[ChatServer]:
    cert, key = certificate
    async with running_server(db_path, tls_cert=cert, tls_key=key, **settings) as server:
        yield server


@contextlib.asynccontextmanager
async def silent_sockets(port: int, count: int) -> AsyncIterator[list[asyncio.StreamReader]]:
    """`count` TCP connections that never say a word (no ClientHello)."""
    opened: list[asyncio.StreamWriter] = []
    readers: list[asyncio.StreamReader] = []
    try:
        for _ in range(count):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            readers.append(reader)
            opened.append(writer)
        yield readers
    finally:
        for writer in opened:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server has closed this socket (EOF or reset), waiting if need be."""
    async with asyncio.timeout(TIMEOUT):
        try:
            return await reader.read(1) == b""
        except ConnectionError:
            return True


def trusting(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


async def test_silent_sockets_count_against_the_address_cap(
    db_path: str, certificate: tuple[str, str]
) -> None:
    settings = {"max_connections_per_ip": 3, "limit_loopback": True}
    async with (
        tls_server(db_path, certificate, **settings) as server,
        silent_sockets(server.port, 5) as readers,
    ):
        # The fourth and fifth are over the cap from the start: closed at once.
        assert [await closed_by_server(r) for r in readers[3:]] == [True, True]
        assert server.open_sockets == 3


async def test_silent_sockets_count_against_the_total(
    db_path: str, certificate: tuple[str, str]
) -> None:
    async with (
        tls_server(db_path, certificate, max_connections=2) as server,
        silent_sockets(server.port, 4) as readers,
    ):
        assert [await closed_by_server(r) for r in readers[2:]] == [True, True]


async def test_a_handshake_that_never_comes_is_cut_off(
    db_path: str, certificate: tuple[str, str], authority: trustme.CA
) -> None:
    async with (
        tls_server(db_path, certificate, tls_handshake_timeout=0.2) as server,
        silent_sockets(server.port, 3) as readers,
    ):
        for reader in readers:
            assert await closed_by_server(reader)
        # Once they are gone, a real client is served as usual.
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=trusting(authority)
        )
        client = Client(reader, writer)
        try:
            result = await client.call(m.Register, user="secure", password=PASSWORD)
            assert result.user == "secure"
            assert server.open_sockets == 1  # the silent ones no longer count
        finally:
            await client.close()


async def test_a_banned_address_is_told_so_inside_tls(
    db_path: str, certificate: tuple[str, str], authority: trustme.CA
) -> None:
    async with tls_server(db_path, certificate) as server:
        await Admin(server).ban_ip("127.0.0.0/8", "go away")
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=trusting(authority)
        )
        client = Client(reader, writer)
        try:
            await client.closed()
            assert [type(e) for e in client.events] == [m.Disconnect]
            goodbye = client.events[0]
            assert isinstance(goodbye, m.Disconnect)
            assert goodbye.reason == "banned"
        finally:
            await client.close()
