"""The interactive console against a headless server, in a pseudo-terminal.

A headless `chat-server` with an admin socket, and the remote console beside it,
each in a terminal of its own: completion comes from the server, the output is
drawn for the console's terminal, mistakes are explained, Ctrl-D leaves the
console and `shutdown` stops the server.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.console.test_shell import FAST, TIMEOUT, _env

SERVER = [sys.executable, "-c", "from chat_srv.cli import main; main()"]
PROMPT = "chat>"


@pytest.fixture
def socket_path() -> Iterator[Path]:
    """A short path for the admin socket (at most 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="chat-console-", dir="/tmp"))
    try:
        yield folder / "admin.sock"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def headless(tmp_path: Path, socket_path: Path) -> Iterator[pexpect.spawn]:
    """A headless server with its admin socket at `socket_path`."""
    args = ["--no-console", "--port", "0", "--db", str(tmp_path / "chat.db"), *FAST]
    child = pexpect.spawn(
        SERVER[0],
        [*SERVER[1:], *args, "--admin-socket", str(socket_path)],
        env=_env(tmp_path),
        encoding="utf-8",
        timeout=TIMEOUT,
    )
    try:
        child.expect(r"admin socket at ")
        yield child
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close()


def _console(tmp_path: Path, socket_path: Path) -> pexpect.spawn:
    """`chat-server console --socket PATH` in a 100x40 pseudo-terminal."""
    return pexpect.spawn(
        SERVER[0],
        [*SERVER[1:], "console", "--socket", str(socket_path)],
        env=_env(tmp_path),
        dimensions=(40, 100),
        encoding="utf-8",
        timeout=TIMEOUT,
    )


def test_the_console_of_a_headless_server(
    headless: pexpect.spawn, tmp_path: Path, socket_path: Path
) -> None:
    console = _console(tmp_path, socket_path)
    try:
        console.expect(f"admin console of the server at {socket_path}")
        console.expect(PROMPT)
        console.send("ro\t")  # completed by the server: `rooms`
        console.send("\r")
        console.expect("5 rooms")
        console.expect("Informatique")
        console.send("kick nobody 1m x\r")
        console.expect("error: ")
        console.expect("no user called nobody")
        console.expect(r"usage: kick <username> <duration> <reason>")
        # At the prompt again before Ctrl-D: sent while the command still runs, the
        # terminal is not in the prompt's raw mode, and its line discipline takes the
        # Ctrl-D for itself (an empty read) instead of handing it to the prompt.
        console.expect(PROMPT)
        console.sendcontrol("d")
        console.expect(pexpect.EOF)
    finally:
        console.close()
    assert console.exitstatus == 0
    # Leaving the console leaves the server running: a second one stops it.
    second = _console(tmp_path, socket_path)
    try:
        second.expect(PROMPT)
        second.send("shutdown\r")
        second.expect("server stopped")
        second.expect(pexpect.EOF)
    finally:
        second.close()
    assert second.exitstatus == 0
    headless.expect("stopped")
    headless.expect(pexpect.EOF)


def test_no_server_is_said_plainly(tmp_path: Path, socket_path: Path) -> None:
    console = _console(tmp_path, socket_path)
    try:
        console.expect(f"no admin socket at {socket_path}: is chat-server running")
        console.expect(pexpect.EOF)
    finally:
        console.close()
    assert console.exitstatus == 2


def test_one_command_from_the_shell(headless: pexpect.spawn, socket_path: Path) -> None:
    admin = [*SERVER, "admin", "--socket", str(socket_path)]
    done = subprocess.run(
        [*admin, "add", "room", "Projets"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "added (approval needed): Projets\n",
        "",
    )
    wrong = subprocess.run(
        [*admin, "kick", "nobody", "10m", "x"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert (wrong.returncode, wrong.stdout) == (1, "")
    assert wrong.stderr.startswith("error: no user called nobody\n")
