"""`/metrics` and `/healthz`: real servers, real sockets, the text parsed as Prometheus does."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_core.framing import frame
from chat_core.streams import read_server_frame
from chat_srv.admin import Admin
from chat_srv.clock import Clock
from chat_srv.hub import Hub
from chat_srv.logs import configure_logging
from chat_srv.metrics import CONNECTION_STATES, SANCTION_KINDS, Metrics
from chat_srv.metrics_http import (
    MAX_CLIENTS,
    MAX_HEADERS,
    MAX_REQUEST_LINE,
    REQUEST_TIMEOUT,
    MetricsListenError,
    MetricsServer,
    parse_address,
)
from chat_srv.server import ChatServer
from chat_srv.store import describe_database
from tests.databases import mysql_database, mysql_server_url
from tests.helpers import TIMEOUT, Client, ManualClock, register, running_server
from tests.helpers import test_config as config_for
from tests.mysql_proxy import running_proxy, through
from tests.server.process import server_process
from tests.server.scrape import exchange, get, scrape, value

ON = "127.0.0.1:0"  # metrics on a free port of loopback
# Names that would stand out in the scrape text if a label ever held one.
ALICE = "alice_q7v"
BOB = "bob_z3k"
WRONG = "not the password 5m2"


@contextlib.asynccontextmanager
async def metered(
    db: str, *, clock: Clock | None = None, **settings: Any
) -> AsyncIterator[ChatServer]:
    """A running server with `/metrics` on a free port of 127.0.0.1."""
    async with running_server(db, clock=clock, metrics=ON, **settings) as server:
        yield server


async def test_counters_move_when_messages_flow(db_path: str) -> None:
    async with metered(db_path) as server:
        port = server.metrics_port
        alice = await register(server.port, ALICE)
        bob = await register(server.port, BOB)
        await alice.sync()
        _, before = await scrape(port)
        for i in range(3):
            await alice.call(m.Send, room="Général", body=f"hello {i}")
        await bob.collect(m.Message, 3)
        bad = await Client.connect(server.port)
        assert (await bad.fails(m.Login, user=ALICE, password=WRONG)).code == (
            ErrorCode.AUTH_FAILED
        )
        text, after = await scrape(port)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "chat_registrations_total") == 2
    assert value(after, "chat_logins_total") == 2  # a registration logs in
    assert value(after, "chat_login_failures_total") == 1
    assert value(after, "chat_requests_total", type="register") == 2
    assert value(after, "chat_requests_total", type="login") == 1
    assert delta("chat_requests_total", type="send") == 3
    assert delta("chat_messages_stored_total") == 3
    assert delta("chat_deliveries_total") == 3 * 2  # three messages, two members online
    assert delta("chat_store_batch_seconds_count") >= 1
    assert value(after, "chat_store_batch_seconds_sum") > 0
    assert value(after, "chat_connections", state="logged_in") == 2
    assert value(after, "chat_connections", state="awaiting_login") == 1
    assert value(after, "chat_connections", state="handshake") == 0
    for kind in SANCTION_KINDS:
        assert value(after, "chat_sanctions_in_force", kind=kind) == 0
    # No label, nor anything else in the text, names a user or says what they wrote.
    for secret in (ALICE, BOB, "hello", "127.0.0.1", WRONG):
        assert secret not in text


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[str, str]:
    """A certificate and key for 127.0.0.1 from a throw-away authority."""
    cert = trustme.CA().issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    return str(cert_file), str(key_file)


async def test_a_socket_in_its_tls_handshake_is_counted_as_such(
    db_path: str, certificate: tuple[str, str], logging_restored: None
) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream)
    cert, key = certificate
    async with metered(db_path, tls_cert=cert, tls_key=key) as server:
        assert "TLS on" in stream.getvalue()
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:  # a socket that never says hello
            async with asyncio.timeout(TIMEOUT):
                while True:  # until the server has accepted it: each try a real scrape
                    _, samples = await scrape(server.metrics_port)
                    if value(samples, "chat_connections", state="handshake") == 1:
                        break
        finally:
            writer.close()
            await writer.wait_closed()
    assert value(samples, "chat_connections", state="awaiting_login") == 0


async def test_every_series_is_there_from_the_start(db_path: str) -> None:
    async with metered(db_path) as server:
        _, samples = await scrape(server.metrics_port)
    for kind in m.REQUEST_TYPES:
        tag = str(kind.__struct_config__.tag)
        assert value(samples, "chat_requests_total", type=tag) == 0
    assert value(samples, "chat_requests_total", type="invalid") == 0
    for reason in ("request_rate", "login_attempts", "registrations", "hashing_busy"):
        assert value(samples, "chat_rate_limited_total", reason=reason) == 0
    for state in CONNECTION_STATES:
        assert value(samples, "chat_connections", state=state) == 0
    assert value(samples, "chat_slow_consumer_drops_total") == 0
    assert value(samples, "process_open_fds") > 0


async def test_rate_limited_answers_are_counted(db_path: str) -> None:
    async with metered(db_path, request_rate=1.0, request_burst=2) as server:
        client = await Client.connect(server.port)
        ids = [await client.send_request(m.Ping) for _ in range(6)]
        replies = [await client.read_reply(request_id) for request_id in ids]
        refused = sum(1 for reply in replies if not reply.ok)
        assert refused >= 3
        _, samples = await scrape(server.metrics_port)
    assert value(samples, "chat_rate_limited_total", reason="request_rate") == refused
    assert value(samples, "chat_requests_total", type="ping") == 6


async def test_logins_and_registrations_over_their_limits_are_counted(db_path: str) -> None:
    limits: dict[str, Any] = {
        "login_failures_per_user": 1,
        "registrations_per_ip": 1,
        "limit_loopback": True,
    }
    async with metered(db_path, **limits) as server:
        await (await register(server.port, ALICE)).close()
        client = await Client.connect(server.port)
        assert (await client.fails(m.Register, user=BOB, password=WRONG)).code == (
            ErrorCode.RATE_LIMITED
        )
        assert (await client.fails(m.Login, user=ALICE, password=WRONG)).code == (
            ErrorCode.AUTH_FAILED
        )
        assert (await client.fails(m.Login, user=ALICE, password=WRONG)).code == (
            ErrorCode.RATE_LIMITED
        )
        _, samples = await scrape(server.metrics_port)
    assert value(samples, "chat_rate_limited_total", reason="registrations") == 1
    assert value(samples, "chat_rate_limited_total", reason="login_attempts") == 1
    assert value(samples, "chat_login_failures_total") == 1
    assert value(samples, "chat_registrations_total") == 1


class _Peer:
    protocol = 1
    ip: str | None = None

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def deliver(self, data: bytes) -> None:
        self.frames.append(data)

    def close_with(self, data: bytes) -> None:
        self.frames.append(data)


def test_every_fan_out_counts_its_deliveries_once() -> None:
    metrics = Metrics()
    hub = Hub(metrics)
    a, b, c = _Peer(), _Peer(), _Peer()
    hub.attach(a, 1, [10])
    hub.attach(b, 1, [10])
    hub.attach(c, 2, [10])

    def delivered() -> float:
        return metrics.registry.get_sample_value("chat_deliveries_total") or 0.0

    hub.to_room(10, b"xy", frames=2)
    assert delivered() == 3 * 2
    hub.to_room(99, b"x")  # nobody there
    hub.to_user(1, b"x", skip=a)
    assert delivered() == 6 + 1
    hub.to_peers(iter([a, c]), b"x")
    hub.to_everyone(b"x")
    assert delivered() == 7 + 2 + 3
    assert sum(len(p.frames) for p in (a, b, c)) == 3 + 1 + 2 + 3  # one call per frame run


async def test_a_frame_that_is_no_request_is_counted_as_invalid(db_path: str) -> None:
    async with metered(db_path) as server:
        client = await Client.connect(server.port)
        client.writer.write(frame(b"\xc1"))  # not MessagePack
        reply = await read_server_frame(client.reader)
        assert isinstance(reply, m.RawReply)
        assert not reply.ok
        _, samples = await scrape(server.metrics_port)
    assert value(samples, "chat_requests_total", type="invalid") == 1


async def test_sanctions_in_force_are_read_when_scraped(db_path: str) -> None:
    clock = ManualClock()
    async with metered(db_path, clock=clock) as server:
        for name in ("kim", "ben"):
            await (await register(server.port, name)).close()
        admin = Admin(server)
        await admin.kick("kim", timedelta(minutes=5), "cool down")
        await admin.ban("ben", "spam")
        await admin.ban_ip("10.0.0.0/8", "spam")
        _, during = await scrape(server.metrics_port)
        clock.advance(10 * 60)  # the kick is over
        text, after = await scrape(server.metrics_port)
    assert [value(during, "chat_sanctions_in_force", kind=k) for k in SANCTION_KINDS] == [1, 1, 1]
    assert [value(after, "chat_sanctions_in_force", kind=k) for k in SANCTION_KINDS] == [0, 1, 1]
    for secret in ("kim", "ben", "10.0.0.0", "spam", "cool down"):
        assert secret not in text


async def test_two_servers_count_apart(db_path: str) -> None:
    other_db = db_path + ".other"
    async with metered(db_path) as first, metered(other_db) as second:
        await register(first.port, ALICE)
        _, one = await scrape(first.metrics_port)
        _, two = await scrape(second.metrics_port)
    assert value(one, "chat_logins_total") == 1
    assert value(two, "chat_logins_total") == 0


async def test_healthz_is_ok_while_the_store_answers(any_db: str) -> None:
    async with metered(any_db) as server:
        response = await get(server.metrics_port, "/healthz")
        assert (response.status, response.text) == (200, "ok\n")
        head = await get(server.metrics_port, "/healthz", method="HEAD")
        assert (head.status, head.body, head.headers["content-length"]) == (200, b"", "3")


@pytest.mark.mysql
async def test_healthz_is_503_during_a_mysql_outage_then_ok_again() -> None:
    """The server reaches MariaDB through a proxy: stopping it is the outage."""
    async with (
        mysql_database(mysql_server_url()) as url,
        running_proxy(url) as proxy,
        metered(through(proxy, url), db_timeout=1.0) as server,
    ):
        port = server.metrics_port
        assert (await get(port, "/healthz")).status == 200
        await proxy.stop()  # every connection cut, new ones refused
        down = await get(port, "/healthz")
        assert down.status == 503
        assert down.text.startswith("store unavailable: MySQL at 127.0.0.1:")
        assert (await get(port, "/metrics")).status == 200  # the counters are still there
        await proxy.start()  # back on the same port
        up = await get(port, "/healthz")
        assert (up.status, up.text) == (200, "ok\n")
        proxy.stalled.set()  # the server no longer answers: 503 after db_timeout at most
        stalled = await get(port, "/healthz")
        assert stalled.status == 503
        assert stalled.text.startswith("store unavailable")
        proxy.stalled.clear()
        assert (await get(port, "/healthz")).status == 200


async def test_healthz_is_503_once_the_store_is_gone(db_path: str) -> None:
    async with metered(db_path) as server:
        await server.store.close()  # as if the database had failed under the server
        response = await get(server.metrics_port, "/healthz")
        assert response.status == 503
        assert response.text.startswith("store unavailable")
        await server.store.open()  # `stop` closes it again


async def test_unknown_paths_and_methods(db_path: str) -> None:
    async with metered(db_path) as server:
        port = server.metrics_port
        assert (await get(port, "/")).status == 404
        assert (await get(port, "/metrics/../etc/passwd")).status == 404
        assert (await get(port, "/metrics?name[]=chat_logins_total")).status == 200
        post = await get(port, "/metrics", method="POST")
        assert (post.status, post.headers["allow"]) == (405, "GET, HEAD")
        assert (await exchange(port, b"GET /metrics HTTP/2.0\r\n\r\n")).status == 505
        assert (await exchange(port, b"GET /metrics\r\n\r\n")).status == 400
        assert (await exchange(port, b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n")).status == 400


async def test_oversized_requests_are_refused(db_path: str) -> None:
    async with metered(db_path) as server:
        port = server.metrics_port
        huge = b"GET /" + b"a" * (10 * MAX_REQUEST_LINE) + b" HTTP/1.1\r\n\r\n"
        assert (await exchange(port, huge)).status == 414
        long_header = b"GET /metrics HTTP/1.1\r\nX: " + b"b" * MAX_REQUEST_LINE + b"\r\n\r\n"
        assert (await exchange(port, long_header)).status == 431
        many = b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS + 1))
        assert (await exchange(port, b"GET /metrics HTTP/1.1\r\n" + many + b"\r\n")).status == 431
        # The server is none the worse.
        assert (await get(port, "/healthz")).status == 200


async def test_the_metrics_are_served_on_the_given_address_only(db_path: str) -> None:
    async with metered(db_path) as server:
        assert server.metrics_address == f"127.0.0.1:{server.metrics_port}"
        with pytest.raises(ConnectionRefusedError):
            await get(server.metrics_port, "/metrics", host="127.0.0.2")


async def test_no_metrics_address_no_listener(db_path: str) -> None:
    async with running_server(db_path) as server:
        assert server.metrics_address is None
        assert server.metrics.registry is not None  # still counted, just not served


def test_a_bad_metrics_address_is_a_configuration_error(db_path: str) -> None:
    with pytest.raises(ValueError, match="ADDRESS:PORT"):
        ChatServer(config_for(db_path, metrics="9100"))


async def test_a_metrics_port_in_use_stops_the_start_cleanly(db_path: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ChatServer(config_for(db_path, metrics=f"127.0.0.1:{port}"))
        with pytest.raises(MetricsListenError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            await server.start()
    # Everything it had opened is closed: the same database and port serve again.
    async with metered(db_path) as again:
        assert (await get(again.metrics_port, "/healthz")).status == 200


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:9100") == ("127.0.0.1", 9100)
    assert parse_address("[::1]:0") == ("::1", 0)
    assert parse_address("localhost:9100") == ("localhost", 9100)
    for bad in ("", "9100", ":9100", "127.0.0.1:", "127.0.0.1:x", "::1:9100", "h:70000", "[]:1"):
        with pytest.raises(ValueError, match="ADDRESS:PORT"):
            parse_address(bad)


def test_the_store_is_described_without_its_password() -> None:
    assert describe_database("mysql://chat:s3cret@db.example:3307/chat") == (
        "mysql://chat@db.example:3307/chat"
    )
    assert describe_database("/var/lib/chat/chat.db") == "sqlite:/var/lib/chat/chat.db"


# -- the HTTP server alone ----------------------------------------------------------


@contextlib.asynccontextmanager
async def http_alone(
    health_gate: asyncio.Event,
    entered: asyncio.Event,
    *,
    seconds: float = REQUEST_TIMEOUT,
    max_clients: int = MAX_CLIENTS,
) -> AsyncIterator[MetricsServer]:
    """A `MetricsServer` whose health check waits for `health_gate`."""

    async def health() -> str | None:
        entered.set()
        await health_gate.wait()
        return None

    server = MetricsServer(
        "127.0.0.1", 0, Metrics(), health, timeout=seconds, max_clients=max_clients
    )
    await server.start()
    try:
        yield server
    finally:
        await server.close()


async def test_a_request_that_takes_too_long_is_answered_408() -> None:
    gate, entered = asyncio.Event(), asyncio.Event()
    async with http_alone(gate, entered, seconds=0.2) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(b"GET /metrics HTTP/1.1\r\n")  # and never the end of the head
            async with asyncio.timeout(TIMEOUT):
                answer = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
        assert answer.startswith(b"HTTP/1.1 408 ")


async def test_exchanges_at_once_are_bounded() -> None:
    gate, entered = asyncio.Event(), asyncio.Event()
    async with http_alone(gate, entered, max_clients=1) as server:
        first = asyncio.create_task(get(server.port, "/healthz"))
        async with asyncio.timeout(TIMEOUT):
            await entered.wait()  # the first exchange is in progress
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            async with asyncio.timeout(TIMEOUT):
                with contextlib.suppress(ConnectionResetError):
                    assert await reader.read() == b""  # closed at once, unanswered
        finally:
            writer.close()
            with contextlib.suppress(ConnectionResetError):
                await writer.wait_closed()
        gate.set()
        assert (await first).status == 200


async def test_closing_ends_the_exchanges_in_progress() -> None:
    gate, entered = asyncio.Event(), asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(http_alone(gate, entered))
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        stack.callback(writer.close)
        writer.write(b"GET /healthz HTTP/1.1\r\n\r\n")
        async with asyncio.timeout(TIMEOUT):
            await entered.wait()
        await server.close()  # while the health check waits
        async with asyncio.timeout(TIMEOUT):
            with contextlib.suppress(ConnectionResetError):
                assert await reader.read() == b""  # cut, unanswered


async def test_the_command_line_serves_metrics_and_logs_json(tmp_path: Path) -> None:
    args = ("--metrics", "127.0.0.1:0", "--log-format", "json", "--log-level", "info")
    async with server_process(str(tmp_path / "chat.db"), *args) as server:
        await register(server.port, "alice")
        started = next(
            json.loads(line) for line in server.log.decode().splitlines() if '"listening on' in line
        )
        metrics = started["fields"]["metrics"]
        assert metrics is not None
        text, _ = await scrape(int(metrics.rsplit(":", 1)[1]))
        assert "chat_registrations_total 1.0" in text
        server.process.terminate()
        assert await server.ended() == 0
    for line in server.log.decode().splitlines():
        json.loads(line)  # every line of the log is one JSON object
