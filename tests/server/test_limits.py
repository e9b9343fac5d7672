"""Limits: flood control, failed-login throttling, connection caps, login timeout, TLS."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import trustme

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode
from chat_srv.config import Argon2Params
from tests.helpers import PASSWORD, Client, login, register, running_server


async def test_a_flood_is_refused_then_disconnected(db_path: str) -> None:
    async with running_server(db_path, request_rate=5, request_burst=5, flood_limit=10) as server:
        client = await Client.connect(server.port)
        ids = [await client.send_request(m.Ping) for _ in range(30)]
        replies = [(await client.read_reply(request_id)).fields for request_id in ids[:15]]
        assert [r["type"] for r in replies[:5]] == ["ok"] * 5  # the burst
        refused = [r for r in replies if r["type"] == "error"]
        assert refused
        assert all(r["code"] == ErrorCode.RATE_LIMITED for r in refused)
        assert all(0 < r["retry_after_ms"] <= 1000 for r in refused)
        await client.closed()  # kept flooding: closed
        assert isinstance(client.events[-1], m.Disconnect)
        assert client.events[-1].reason == DisconnectReason.PROTOCOL_ERROR
        other = await register(server.port, "bystander")  # the server serves others
        await other.call(m.Ping)


async def test_failed_logins_are_limited_per_user(db_path: str) -> None:
    async with running_server(db_path, login_failures_per_user=3) as server:
        await (await register(server.port, "alice")).close()
        client = await Client.connect(server.port)
        for _ in range(3):
            assert (await client.fails(m.Login, user="alice", password="guess123")).code == (
                ErrorCode.AUTH_FAILED
            )
        limited = await client.fails(m.Login, user="ALICE", password=PASSWORD)
        assert limited.code == ErrorCode.RATE_LIMITED
        assert 0 < limited.details["retry_after_ms"] <= 60_000
        # Another account is not affected.
        await (await register(server.port, "bob")).close()
        await client.call(m.Login, user="bob", password=PASSWORD)


async def test_failed_logins_from_one_address_do_not_slow_its_known_users(db_path: str) -> None:
    campus = "127.0.0.2"  # one address for a whole campus (a NAT)
    async with running_server(db_path, login_failures_per_ip=3) as server:
        await (await register(server.port, "campus_user", source=campus)).close()
        await (await register(server.port, "traveller", source="127.0.0.3")).close()
        attacker = await Client.connect(server.port, source=campus)
        for name in ("x1", "x2", "x3"):
            await attacker.fails(m.Login, user=name, password="guess1234")
        # The address is over its budget: an account new to it waits...
        limited = await attacker.fails(m.Login, user="traveller", password=PASSWORD)
        assert limited.code == ErrorCode.RATE_LIMITED
        # ...while a user who last logged in from here is never slowed down.
        await attacker.call(m.Login, user="campus_user", password=PASSWORD)


async def test_connections_per_address_are_capped(db_path: str) -> None:
    async with running_server(db_path, max_connections_per_ip=2, limit_loopback=True) as server:
        first = await Client.connect(server.port)
        second = await Client.connect(server.port)
        await first.call(m.Ping)
        await second.call(m.Ping)
        third = await Client.connect(server.port)
        await third.closed()
        assert [e.reason for e in third.events] == [DisconnectReason.PROTOCOL_ERROR]  # type: ignore[attr-defined]
        await first.close()
        # The server frees the place once it has seen the close; each try is answered.
        for _ in range(20):
            fourth = await Client.connect(server.port)
            try:
                await fourth.call(m.Ping)
                break
            except ConnectionError:
                await fourth.close()
        else:
            raise AssertionError("the freed place was never given to a new connection")


async def test_loopback_is_exempt_from_the_address_cap_by_default(db_path: str) -> None:
    async with running_server(db_path, max_connections_per_ip=1) as server:
        clients = [await Client.connect(server.port) for _ in range(3)]
        for client in clients:
            await client.call(m.Ping)


async def test_a_connection_that_never_logs_in_is_closed(db_path: str) -> None:
    async with running_server(db_path, login_timeout=0.3) as server:
        member = await register(server.port, "member")
        lurkers = [await Client.connect(server.port) for _ in range(2)]
        for lurker in lurkers:
            await lurker.closed()
        # One timer serves them all, armed again for a connection after they are gone.
        late = await Client.connect(server.port)
        await late.closed()
        for lurker in (*lurkers, late):
            assert [e.reason for e in lurker.events] == [DisconnectReason.IDLE]  # type: ignore[attr-defined]
        await member.call(m.Ping)  # logged in in time: still here


async def test_password_is_rehashed_when_the_parameters_change(db_path: str) -> None:
    async with running_server(db_path) as server:
        await (await register(server.port, "alice")).close()
        before = await server.store.get_user("alice")
    stronger = Argon2Params(time_cost=2, memory_kib=128, parallelism=1)
    async with running_server(db_path, argon2=stronger) as server:
        await (await login(server.port, "alice")).close()
        after = await server.store.get_user("alice")
    assert before is not None
    assert after is not None
    assert "m=64,t=1" in before.password_hash
    assert "m=128,t=2" in after.password_hash


async def test_tls_only(tmp_path: Path, db_path: str) -> None:
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    async with running_server(db_path, tls_cert=str(cert_file), tls_key=str(key_file)) as server:
        context = ssl.create_default_context()
        authority.configure_trust(context)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=context)
        client = Client(reader, writer)
        result = await client.call(m.Register, user="secure", password=PASSWORD)
        assert result.user == "secure"
        await client.close()
        plain = await Client.connect(server.port)  # no TLS: the handshake fails, nothing served
        plain.writer.write(m.encode(m.Ping(id=1)))
        await plain.closed()
        assert plain.events == []
