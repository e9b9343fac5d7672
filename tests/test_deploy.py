"""The deployment guide's files are right: the systemd unit, the example settings,
and the MySQL privileges it says the server needs."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chat_srv.settings import load
from chat_srv.store import open_store
from tests.databases import mysql_admin, mysql_database, mysql_server_url, with_database

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "contrib" / "chat-server.service"
GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def test_the_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing (Debian package systemd)")
        pytest.skip("systemd-analyze is not installed")
    # The unit names the guide's paths; point it at this checkout's chat-server.
    here = Path(sys.executable).parent / "chat-server"
    unit = tmp_path / "chat-server.service"
    unit.write_text(UNIT.read_text().replace("/opt/chat-server/.venv/bin/chat-server", str(here)))
    verified = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    # verify exits 0 on mistakes it only warns about: any word on stderr is one.
    assert (verified.returncode, verified.stderr) == (0, "")


def test_the_guides_settings_file_is_accepted(tmp_path: Path) -> None:
    block = re.search(r"```toml\n(.*?)```", GUIDE, re.S)
    assert block is not None
    settings = tmp_path / "chat-server.toml"
    settings.write_text(block.group(1))
    loaded = load(file=settings, environ={})
    assert loaded.settings.port == 7878
    assert loaded.settings.admin_socket == "/run/chat-server/admin.sock"


GRANTS = re.search(r"GRANT (.*?) ON chat\.\*", GUIDE)


@pytest.mark.mysql
async def test_the_privileges_the_guide_grants_are_enough() -> None:
    assert GRANTS is not None
    server = mysql_server_url()
    user = f"chat_{secrets.token_hex(4)}"
    password = secrets.token_hex(12)
    async with mysql_database(server) as url, mysql_admin(server) as admin:
        database = url.rsplit("/", 1)[1]
        await admin.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        try:
            await admin.execute(f"GRANT {GRANTS.group(1)} ON `{database}`.* TO '{user}'@'%'")
            host = server.split("@", 1)[1].rsplit("/", 1)[0]
            store = open_store(with_database(f"mysql://{user}:{password}@{host}/x", database))
            await store.open()  # creates and migrates every table as that user
            try:
                alice = await store.create_user("alice", "$argon2id$x", 0, "192.0.2.1")
                await store.record_login(alice.id, "192.0.2.2", 1)
                assert await store.known_address(alice.id, "192.0.2.2")
            finally:
                await store.close()
        finally:
            with contextlib.suppress(Exception):
                await admin.execute(f"DROP USER '{user}'@'%'")
