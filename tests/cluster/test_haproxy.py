"""A cluster behind a real HAProxy, with the configuration of docs/deploy.md: TCP
mode, `balance leastconn`, each node checked on its `/healthz`. Clients that come
in through it land on different nodes and meet there: presence and messages cross;
a node stopped is taken out. The guide's file itself passes `haproxy -c`.

HAProxy comes from Debian (`apt-get install haproxy`; `.ci/run` installs it): these
tests skip without it, except in CI, where they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv.server import ChatServer
from tests.cluster.conftest import SERVER_ENVIRONMENT, RedisServer, cluster, free_port
from tests.helpers import Client, register
from tests.mysql_proxy import running_proxy, through

pytestmark = pytest.mark.mysql

NODES = 3
BACKEND = "chat_nodes"  # the guide's backend
STARTUP = 10.0  # seconds HAProxy may take to listen and to find every node up
GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text(encoding="utf-8")
TEST_GLOBAL = "global\n    stats socket {stats} mode 600 level admin\n"
"""The test's own `global` section: no chroot, no user, no daemon, no syslog."""


def guide_config() -> str:
    """The HAProxy configuration of docs/deploy.md, as written."""
    block = re.search(r"```haproxy\n(.*?)```", GUIDE, re.S)
    assert block is not None, "docs/deploy.md has a haproxy block"
    return block.group(1)


def local_config(stats: Path, port: int, servers: Sequence[tuple[str, int, int]]) -> str:
    """The guide's configuration on 127.0.0.1: its own `global`, HAProxy's port, these
    servers (name, port, metrics port) for the guide's, checks every 200 ms."""
    sections = re.split(r"\n(?=\S)", guide_config().strip())
    out = [TEST_GLOBAL.format(stats=stats)]
    for section in sections:
        if section.startswith("global"):
            continue
        lines = [line for line in section.splitlines() if not line.lstrip().startswith("server ")]
        text = "\n".join(lines)
        text = re.sub(r"^(\s+bind )\S+", rf"\g<1>127.0.0.1:{port}", text, flags=re.M)
        text = re.sub(r"\binter \S+", "inter 200ms", text)
        if section.startswith("backend"):
            text += "".join(
                f"\n    server {name} 127.0.0.1:{node_port} port {metrics}"
                for name, node_port, metrics in servers
            )
        out.append(text + "\n")
    return "\n".join(out)


def haproxy_executable() -> str:
    """HAProxy's path (Debian puts it in /usr/sbin); skip without it, fail in CI."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    found = shutil.which("haproxy", path=path)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("HAProxy must be installed in CI (.ci/run installs it)")
        pytest.skip("HAProxy is not installed (apt-get install haproxy)")
    return found


@dataclass
class HAProxy:
    """A running `haproxy` before a cluster's nodes, and its stats socket."""

    process: asyncio.subprocess.Process
    port: int
    stats: Path
    log: Path

    async def servers(self) -> dict[str, dict[str, str]]:
        """`show stat` of the nodes' backend: each server's row by its name."""
        reader, writer = await asyncio.open_unix_connection(str(self.stats))
        try:
            writer.write(b"show stat\n")
            await writer.drain()
            async with asyncio.timeout(STARTUP):
                text = (await reader.read()).decode()
        finally:
            writer.close()
        rows = csv.DictReader(text.lstrip("# ").splitlines())
        return {
            row["svname"]: row
            for row in rows
            if row["pxname"] == BACKEND and row["svname"] not in ("BACKEND", "FRONTEND")
        }

    async def wait_for(self, wanted: dict[str, str]) -> None:
        """Until each named server's status is the one wanted (`UP`, `DOWN`)."""
        async with asyncio.timeout(STARTUP):
            while True:
                rows = await self.servers()
                if all(rows[name]["status"] == status for name, status in wanted.items()):
                    return
                await asyncio.sleep(0.05)


def node_name(n: int) -> str:
    return f"node-{n}"


@contextlib.asynccontextmanager
async def running_haproxy(directory: Path, nodes: Sequence[ChatServer]) -> AsyncIterator[HAProxy]:
    """HAProxy on a free port before `nodes`, every one of them found up; stopped on exit."""
    executable = haproxy_executable()
    port = free_port()
    stats = directory / "haproxy.sock"
    servers = [
        (node_name(n), node.port, node.metrics_port) for n, node in enumerate(nodes, start=1)
    ]
    config = directory / "haproxy.cfg"
    config.write_text(local_config(stats, port, servers))
    log = directory / "haproxy.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            executable, "-db", "-f", str(config),
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out, env=SERVER_ENVIRONMENT,
        )  # fmt: skip
    proxy = HAProxy(process, port, stats, log)
    try:
        async with asyncio.timeout(STARTUP):
            while not stats.exists():
                if process.returncode is not None:
                    pytest.fail(f"haproxy exited with {process.returncode}: {log.read_text()}")
                await asyncio.sleep(0.02)
        # Up once the checks have passed (servers start up before their first check).
        await proxy.wait_for({node_name(n): "UP" for n in range(1, len(nodes) + 1)})
        for row in (await proxy.servers()).values():
            assert row["check_status"] == "L7OK", row
        yield proxy
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(STARTUP):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


@dataclass
class Fronted:
    """A cluster's nodes and the HAProxy before them."""

    nodes: list[ChatServer]
    haproxy: HAProxy

    def connections(self) -> list[int]:
        """Each node's open client connections."""
        return [len(node.hub.connections) for node in self.nodes]

    async def register(self, name: str) -> tuple[Client, int]:
        """A client registered through HAProxy, and the number of the node it is on."""
        before = self.connections()
        client = await register(self.haproxy.port, name)
        after = self.connections()
        grew = [n for n, (a, b) in enumerate(zip(before, after, strict=True), start=1) if b > a]
        assert len(grew) == 1, (before, after)
        return client, grew[0]


@contextlib.asynccontextmanager
async def fronted_cluster(
    db: str, broker: str, directory: Path, **overrides: Any
) -> AsyncIterator[Fronted]:
    """Three nodes with their metrics (and `/healthz`) on, and HAProxy before them."""
    async with (
        cluster(db, broker, NODES, metrics="127.0.0.1:0", **overrides) as nodes,
        running_haproxy(directory, nodes) as haproxy,
    ):
        yield Fronted(nodes, haproxy)


@pytest.fixture
async def fronted(
    mysql_db: str, redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[Fronted]:
    async with fronted_cluster(mysql_db, redis_server.url, tmp_path) as running:
        yield running


async def test_clients_land_on_every_node_and_meet(fronted: Fronted) -> None:
    alice, on_alice = await fronted.register("alice")
    bob, on_bob = await fronted.register("bob")
    carol, on_carol = await fronted.register("carol")
    assert sorted([on_alice, on_bob, on_carol]) == [1, 2, 3]  # leastconn: one each
    # Presence crosses nodes: each sees those who came after come online.
    await alice.event(m.Presence, user="bob", online=True)
    await alice.event(m.Presence, user="carol", online=True)
    await bob.event(m.Presence, user="carol", online=True)
    who = await alice.call(m.Who)
    assert {u.name for u in who.users} >= {"alice", "bob", "carol"}
    # A message sent on each node reaches the clients of the other two.
    clients = [alice, bob, carol]
    for sender in clients:
        sent = await sender.call(m.Send, room="Général", body=f"hello from {sender.name}")
        for other in clients:
            got = await other.event(m.Message, msg_id=sent.msg_id)
            assert (got.sender, got.body) == (sender.name, f"hello from {sender.name}")
    await bob.close()
    await alice.event(m.Presence, user="bob", online=False)
    await carol.event(m.Presence, user="bob", online=False)


async def test_a_stopped_node_is_taken_out_and_clients_land_on_the_others(
    fronted: Fronted,
) -> None:
    watcher, on_watcher = await fronted.register("watcher")
    stopped = next(n for n in range(1, NODES + 1) if n != on_watcher)
    await fronted.nodes[stopped - 1].stop()  # its /healthz goes with it
    await fronted.haproxy.wait_for({node_name(stopped): "DOWN"})
    landed = []
    for n in range(2 * NODES):
        client, on = await fronted.register(f"late{n}")
        landed.append(on)
        sent = await client.call(m.Send, room="Général", body=f"late {n}")
        assert (await watcher.event(m.Message, msg_id=sent.msg_id)).sender == f"late{n}"
    assert stopped not in landed
    assert set(landed) == set(range(1, NODES + 1)) - {stopped}


def test_the_guides_configuration_is_valid_as_written(tmp_path: Path) -> None:
    executable = haproxy_executable()
    config = tmp_path / "haproxy.cfg"
    config.write_text(guide_config())
    checked = subprocess.run(
        [executable, "-c", "-f", str(config)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ALERT" not in checked.stdout + checked.stderr


async def test_a_client_sent_to_a_stopping_node_is_sent_to_another(fronted: Fronted) -> None:
    """Before the checks have taken a stopped node out, HAProxy still picks it (it holds
    the fewest connections): the node refuses, and HAProxy redispatches at once."""
    _, on_first = await fronted.register("first")
    _, on_second = await fronted.register("second")
    (empty,) = set(range(1, NODES + 1)) - {on_first, on_second}
    await fronted.nodes[empty - 1].stop()
    _, on_late = await fronted.register("late")
    stopped = (await fronted.haproxy.servers())[node_name(empty)]
    assert not stopped["status"].startswith("DOWN"), stopped  # not yet taken out
    assert int(stopped["wredis"]) >= 1, stopped  # tried, and the client sent on
    assert on_late in (on_first, on_second)


async def test_without_the_database_every_node_is_taken_out_until_it_is_back(
    mysql_db: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    """MySQL away: every node's `/healthz` fails, so HAProxy closes new connections at
    once; the clients already in stay, answered `unavailable`; then all is back."""
    all_nodes = [node_name(n) for n in range(1, NODES + 1)]
    async with (
        running_proxy(mysql_db) as proxy,
        fronted_cluster(through(proxy, mysql_db), redis_server.url, tmp_path, db_timeout=1.0) as (
            fronted
        ),
    ):
        alice, _ = await fronted.register("alice")
        await proxy.stop()
        await fronted.haproxy.wait_for(dict.fromkeys(all_nodes, "DOWN"))
        reader, writer = await asyncio.open_connection("127.0.0.1", fronted.haproxy.port)
        async with asyncio.timeout(STARTUP):
            assert await reader.read() == b""  # closed: no node to send it to
        writer.close()
        refused = await alice.fails(m.Send, room="Général", body="while down")
        assert refused.code is ErrorCode.UNAVAILABLE
        await proxy.start()
        await fronted.haproxy.wait_for(dict.fromkeys(all_nodes, "UP"))
        bob, _ = await fronted.register("bob")
        sent = await alice.call(m.Send, room="Général", body="back")
        assert (await bob.event(m.Message, msg_id=sent.msg_id)).body == "back"
