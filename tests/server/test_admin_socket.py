"""The admin socket: the console's commands against a running, headless server.

Socket paths are kept short (a Unix socket's path has at most 107 bytes), in a
folder of /tmp made for each test.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat_core import messages as m
from chat_core.errors import DisconnectReason
from chat_srv.control import ControlSocketError
from chat_srv.remote import FAILED, NO_SERVER, OK, AdminLink, one_command
from tests.databases import mysql_database, mysql_server_url
from tests.helpers import login, register, running_server
from tests.server.process import server_process


@pytest.fixture
def sockets() -> Iterator[Path]:
    """A fresh, short folder for admin sockets."""
    folder = Path(tempfile.mkdtemp(prefix="chat-admin-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def admin(path: Path, line: str) -> tuple[int, str, str]:
    """Run one line through the socket as `chat-server admin` does: status, out, err."""
    out, err = io.StringIO(), io.StringIO()
    status = await one_command(path, line, out, err)
    return status, out.getvalue(), err.getvalue()


async def test_the_socket_is_the_operators_alone(db_path: str, sockets: Path) -> None:
    path = sockets / "state" / "admin.sock"
    async with running_server(db_path, admin_socket=str(path)):
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not path.exists()  # removed at shutdown


async def test_every_moderation_command_through_the_socket(sockets: Path, tmp_path: Path) -> None:
    path = sockets / "admin.sock"
    async with server_process(str(tmp_path / "chat.db"), "--admin-socket", str(path)) as server:
        alice = await register(server.port, "alice")
        await register(server.port, "bob")
        await alice.call(m.Join, room="Informatique")
        await alice.call(m.Send, room="Général", body="hello from alice")
        steps = [
            ("users", "alice"),
            ("rooms", "Informatique"),
            ("pending rooms", "alice"),
            ("accept pending alice Informatique", "accepted alice into Informatique"),
            ("add room Projets", "added (approval needed): Projets"),
            ("messages 1h Général", "hello from alice"),
            ("op bob moderator", "bob is now moderator"),
            ("deop bob", "bob is a plain user again"),
            ("add user carol", "added user carol; its password, shown only this once: "),
            ("notice maintenance at noon", "notice sent to 2 users"),
            ("kick bob 10m spam", "kicked bob for 10m"),
            ("unkick bob", "unkicked bob"),
            ("ban bob spam", "banned bob"),
            ("bans", "ban"),
            ("unban bob", "unbanned bob"),
            ("ban ip 192.0.2.0/24 spam", "banned address 192.0.2.0/24"),
            ("unban ip 192.0.2.0/24", "unbanned address 192.0.2.0/24"),
            ("kill alice bye", "killed alice (1 connection closed)"),
        ]
        for line, expected in steps:
            status, out, err = await admin(path, line)
            assert (status, err) == (OK, ""), line
            assert expected in out, (line, out)
        assert (await alice.event(m.Disconnect)).reason == DisconnectReason.KILLED
        assert await admin(path, "shutdown") == (OK, "server stopped\n", "")
        assert await server.ended() == 0


async def test_mistakes_and_a_missing_server(db_path: str, sockets: Path) -> None:
    path = sockets / "admin.sock"
    async with running_server(db_path, admin_socket=str(path)):
        status, out, err = await admin(path, "kick nobody 10m x")
        assert (status, out) == (FAILED, "")
        assert err == "error: no user called nobody\nusage: kick <username> <duration> <reason>\n"
        status, _, err = await admin(path, "frobnicate")
        assert status == FAILED
        assert err.startswith("error: unknown command frobnicate")
    status, _, err = await admin(path, "users")
    assert status == NO_SERVER
    assert err == f"chat-server admin: no admin socket at {path}: is chat-server running?\n"


async def test_completion_comes_from_the_server(db_path: str, sockets: Path) -> None:
    path = sockets / "admin.sock"
    async with running_server(db_path, admin_socket=str(path)) as server:
        await register(server.port, "alice")
        link = await AdminLink.open(path)
        try:
            assert [c.text for c in await link.complete("kic")] == ["kick"]
            assert [c.text for c in await link.complete("kick al")] == ["alice"]
            assert [c.text for c in await link.complete("op alice ad")] == ["admin"]
            lines = await link.command("rooms", width=60, ansi=True)
            assert any("\x1b[" in line for line in lines)  # styled for a terminal
        finally:
            await link.close()


async def test_a_live_socket_is_not_taken_over(db_path: str, sockets: Path, tmp_path: Path) -> None:
    path = sockets / "admin.sock"
    async with running_server(db_path, admin_socket=str(path)):
        with pytest.raises(ControlSocketError, match="another chat-server answers on"):
            async with running_server(str(tmp_path / "other.db"), admin_socket=str(path)):
                pass
        assert (await admin(path, "rooms"))[0] == OK  # the first one still answers


async def test_a_stale_socket_is_replaced_and_a_file_is_not(db_path: str, sockets: Path) -> None:
    stale = sockets / "stale.sock"
    left = socket.socket(socket.AF_UNIX)
    left.bind(str(stale))  # bound, never listening: what a killed server leaves
    left.close()
    async with running_server(db_path, admin_socket=str(stale)):
        assert (await admin(stale, "rooms"))[0] == OK
    precious = sockets / "notes.txt"
    precious.write_text("keep me")
    with pytest.raises(ControlSocketError, match="exists and is not a socket"):
        async with running_server(db_path, admin_socket=str(precious)):
            pass
    assert precious.read_text() == "keep me"


async def test_garbage_on_the_socket_is_answered_and_harmless(db_path: str, sockets: Path) -> None:
    path = sockets / "admin.sock"
    async with running_server(db_path, admin_socket=str(path)) as server:
        reader, writer = await asyncio.open_unix_connection(str(path))
        try:
            writer.write(m.encode_raw({"type": "register", "id": 1, "user": "x"}))
            writer.write(m.encode_raw([1, 2, 3]))
            await writer.drain()
            for _ in range(2):
                length = int.from_bytes(await reader.readexactly(4), "big")
                reply = m.decode_server_payload(await reader.readexactly(length))
                assert isinstance(reply, m.RawReply)
                assert reply.fields["code"] == "bad_request"
        finally:
            writer.close()
        assert not server.stopped.is_set()
        assert (await admin(path, "users"))[0] == OK


def test_the_default_socket_is_in_the_state_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    from chat_srv.config import ServerConfig, default_admin_socket

    monkeypatch.setenv("XDG_STATE_HOME", "/var/lib/chat")
    assert default_admin_socket() == Path("/var/lib/chat/chat-server/admin.sock")
    assert ServerConfig().admin_socket_path == default_admin_socket()
    assert ServerConfig(admin_socket="none").admin_socket_path is None
    assert os.fspath(ServerConfig(admin_socket="/run/c.sock").admin_socket_path or "") == (
        "/run/c.sock"
    )


async def test_a_backup_while_serving(db_path: str, sockets: Path, tmp_path: Path) -> None:
    path = sockets / "admin.sock"
    copy = tmp_path / "copy.db"
    async with running_server(db_path, admin_socket=str(path)) as server:
        alice = await register(server.port, "alice")
        sent = await alice.call(m.Send, room="Général", body="keep me")
        assert await admin(path, f"backup {copy}") == (OK, f"database copied to {copy}\n", "")
        status, _, err = await admin(path, f"backup {copy}")
        assert status == FAILED
        assert f"{copy} exists" in err
    async with running_server(str(copy)) as restored:
        alice = await login(restored.port, "alice")
        page = await alice.call(m.History, room="Général")
        assert [msg.msg_id for msg in page.messages] == [sent.msg_id]


@pytest.mark.mysql
async def test_mysql_is_backed_up_with_its_own_tools(sockets: Path) -> None:
    path = sockets / "admin.sock"
    async with (
        mysql_database(mysql_server_url()) as url,
        running_server(url, admin_socket=str(path)),
    ):
        status, _, err = await admin(path, "backup /tmp/never.db")
        assert status == FAILED
        assert "backed up with its own tools" in err
