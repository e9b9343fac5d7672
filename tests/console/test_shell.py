"""The interactive console in a real pseudo-terminal, and the headless server without one."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from chat_core import messages as m
from chat_srv.console.shell import HEADLESS, WELCOME, _logs_above_prompt
from chat_srv.logs import configure_logging
from tests.helpers import Client

TIMEOUT = 20  # seconds for any one expected output
SERVER = [sys.executable, "-c", "from chat_srv.cli import main; main()"]
FAST = ["--argon2-time-cost", "1", "--argon2-memory-kib", "64", "--argon2-parallelism", "1"]
PROMPT = "chat>"  # prompt_toolkit draws the trailing space as a cursor move


def _args(tmp_path: Path) -> list[str]:
    return ["--port", "0", "--db", str(tmp_path / "chat.db"), "--admin-socket", "none", *FAST]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",  # pexpect does not answer cursor-position requests
        XDG_STATE_HOME=str(tmp_path / "state"),  # the console's history file goes here
        PYTHONUNBUFFERED="1",
    )
    return env


class Terminal:
    """The server running in a pseudo-terminal, with its port once it listens."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        child.expect(r"listening on 127\.0\.0\.1 port (\d+)")
        self.port = int(child.match.group(1))
        child.expect(re.escape(WELCOME))
        child.expect(PROMPT)

    def command(self, line: str) -> None:
        """Type a line and press Enter."""
        self.child.send(line + "\r")

    def expect(self, pattern: str) -> None:
        """Wait for `pattern` (a regular expression) in the output."""
        self.child.expect(pattern)

    def exit_status(self) -> int | None:
        """Wait for the process to end; its exit status."""
        self.child.expect(pexpect.EOF)
        self.child.close()
        status: int | None = self.child.exitstatus
        return status


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    """`chat-server` with its console in a 120x40 pseudo-terminal."""
    child = pexpect.spawn(
        SERVER[0],
        [*SERVER[1:], *_args(tmp_path)],
        env=_env(tmp_path),
        dimensions=(40, 120),
        encoding="utf-8",
        timeout=TIMEOUT,
    )
    try:
        yield Terminal(child)
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close()


def test_rooms_mistake_and_shutdown(terminal: Terminal) -> None:
    terminal.command("rooms")
    terminal.expect("5 rooms")
    for room in ("Blabla", "Comptabilité", "Général", "Informatique", "Marketing"):
        terminal.expect(room)
    terminal.command("nonsense")
    terminal.expect(r"error: .*unknown command nonsense; type help for the list")
    terminal.command("shutdown")
    terminal.expect("shutting down")
    terminal.expect("server stopped")
    assert terminal.exit_status() == 0


def test_log_lines_and_completion(terminal: Terminal) -> None:
    with socket.create_connection(("127.0.0.1", terminal.port)):
        terminal.expect(r"INFO chat_srv\.server: connection from 127\.0\.0\.1")
    terminal.expect(r"closed 127\.0\.0\.1")
    terminal.child.send("shut\t")  # completed to `shutdown`, or nothing would stop
    terminal.child.send("\r")
    terminal.expect("server stopped")
    assert terminal.exit_status() == 0


def test_user_text_above_the_prompt_is_escaped(terminal: Terminal) -> None:
    hidden = "mal\u3164lory"  # a Hangul filler prints as nothing: it looks like mallory
    with socket.create_connection(("127.0.0.1", terminal.port)) as sock:
        sock.sendall(m.encode(m.Login(id=1, user=hidden, password="correct horse")))
        terminal.expect(r"INFO chat_srv\.accounts: failed login for '(\S+)' from 127\.0\.0\.1")
        assert terminal.child.match.group(1) == "mal\\u3164lory"
    register = m.Register(id=1, user="mallory", password="correct horse")
    with socket.create_connection(("127.0.0.1", terminal.port)) as sock:
        sock.sendall(m.encode(register))
        terminal.expect(r"INFO chat_srv\.accounts: registered mallory from 127\.0\.0\.1")
        terminal.command("kick mallory 1h spam\u202e\u200bgnp.exe")
        terminal.expect(r"console: kicked mallory until .* reason ('[^']*')")
        assert terminal.child.match.group(1) == "'spam\\u202e\\u200bgnp.exe'"
        terminal.expect(r"\(1 connection closed\): (\S+)")
        answer = terminal.child.match.group(1)
        assert re.sub(r"\x1b\[[0-9;]*m", "", answer) == "spam\\u202e\\u200bgnp.exe"
        assert "\x1b[7m\\u202e" in answer  # the console's escapes are in reverse video
    terminal.command("shutdown")
    terminal.expect("server stopped")
    assert terminal.exit_status() == 0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_lines_above_the_prompt_keep_the_log_rules(logging_restored: None) -> None:
    configure_logging(logging.DEBUG, _Terminal())
    above = io.StringIO()
    with _logs_above_prompt(above):
        logging.getLogger("chat_srv.service").info("registered %s", "eve\n\u202efake")
        # A library's debug record handed straight to the handlers, past its logger's level.
        debug = logging.LogRecord("aiosqlite", logging.DEBUG, __file__, 1, "secret", (), None)
        logging.getLogger().handle(debug)
    assert above.getvalue().endswith(" INFO chat_srv.service: registered eve\\n\\u202efake\n")
    assert above.getvalue().count("\n") == 1
    assert "secret" not in above.getvalue()


def test_ctrl_c_clears_the_line_and_ctrl_d_leaves_the_server_running(
    terminal: Terminal,
) -> None:
    terminal.child.send("nons")
    terminal.expect("nons")
    terminal.child.sendcontrol("c")
    terminal.expect(PROMPT)
    terminal.command("bans")  # the line was cleared: not `nonsbans`
    terminal.expect("no active kicks or bans")
    terminal.expect(PROMPT)  # at the prompt again (see test_remote_console on Ctrl-D)
    terminal.child.sendcontrol("d")
    terminal.expect(re.escape(HEADLESS))
    # Headless now: the server still answers connections.
    with socket.create_connection(("127.0.0.1", terminal.port)):
        terminal.expect(r"connection from 127\.0\.0\.1")
    terminal.child.kill(signal.SIGTERM)
    terminal.expect("stopped")
    assert terminal.exit_status() == 0


def test_keys_typed_ahead_wait_for_the_next_prompt(terminal: Terminal) -> None:
    # A Ctrl-C typed while a command runs clears the next line; it is no SIGINT.
    terminal.child.send("users\r\x03rooms\r")
    terminal.expect("no user is connected")
    terminal.expect("5 rooms")
    terminal.command("shutdown")
    terminal.expect("server stopped")
    assert terminal.exit_status() == 0


def test_a_signal_ends_the_console(terminal: Terminal) -> None:
    terminal.child.send("half a line")
    terminal.expect("half a line")
    terminal.child.kill(signal.SIGTERM)
    terminal.expect("shutting down")
    terminal.expect("stopped")
    assert terminal.exit_status() == 0


def test_history_is_kept(tmp_path: Path, terminal: Terminal) -> None:
    terminal.command("users")
    terminal.expect("no user is connected")
    terminal.command("shutdown")
    assert terminal.exit_status() == 0
    history = (tmp_path / "state" / "chat-server" / "console_history").read_text()
    assert "+users" in history
    assert "+shutdown" in history


async def test_headless_without_a_terminal_stops_on_sigterm(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        *SERVER,
        *_args(tmp_path),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=_env(tmp_path),
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(TIMEOUT):
            while b"listening on" not in (line := await process.stdout.readline()):
                assert line, "the server ended before listening"
            found = re.search(rb"listening on \S+ port (\d+)", line)
            assert found is not None, line
            port = int(found.group(1))
            # A logged connection proves the loop runs `serve`, signal handlers installed.
            client = await Client.connect(port)
            while b"connection from" not in (line := await process.stdout.readline()):
                assert line, "the server ended before logging the connection"
            await client.close()
            process.send_signal(signal.SIGTERM)
            rest = (await process.stdout.read()).decode()
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert "stopped" in rest
    assert WELCOME not in rest
