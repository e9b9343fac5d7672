"""The log: no body, password or hash at any level, and one line per event."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import signal
import sys

from chat_core import messages as m
from chat_srv.logs import CONTINUATION, FORMAT, OneLineFormatter, configure_logging
from tests.helpers import TIMEOUT, register, running_server
from tests.server.process import server_process

PASSWORD = "known password 7d1c"
BODY = "known body 4e9b that no log may hold"
DM_BODY = "known direct message 0a5f"
HASH_MARK = "$argon2id$"
_RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: ")
FORGED = "eve\n2025-03-01 09:00:00,000 INFO chat_srv.service: login admin from 10.0.0.1"


async def _chat(port: int) -> None:
    """Register two users with `PASSWORD`, post `BODY`, and DM the offline one."""
    bob = await register(port, "bob", PASSWORD)
    await bob.call(m.Logout)
    await bob.closed()
    await bob.close()
    alice = await register(port, "alice", PASSWORD)
    await alice.call(m.Send, room="Général", body=BODY)
    await alice.call(m.Dm, to="bob", body=DM_BODY)
    await alice.call(m.Logout)
    await alice.closed()
    await alice.close()


def _assert_safe(log: str) -> None:
    lines = log.splitlines()
    assert lines, "nothing was logged"
    assert any(" DEBUG chat_srv." in line for line in lines), "no debug line of ours"
    for secret in (BODY, DM_BODY, PASSWORD, HASH_MARK):
        assert secret not in log
    for line in lines:  # one event, one line
        assert _RECORD_START.match(line), line


async def test_debug_logging_in_process_holds_no_secret(
    any_db: str, logging_restored: None
) -> None:
    stream = io.StringIO()
    configure_logging(logging.DEBUG, stream)
    async with running_server(any_db) as server:
        await _chat(server.port)
    _assert_safe(stream.getvalue())


async def test_chat_server_log_level_debug_holds_no_secret(db_path: str) -> None:
    async with server_process(db_path, "--log-level", "debug") as server:
        await _chat(server.port)
        server.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(TIMEOUT):
            assert await server.ended() == 0
        log = server.log.decode()
    assert "INFO chat_srv.accounts: registered alice from 127.0.0.1" in log
    _assert_safe(log)


def test_other_libraries_stay_at_info(logging_restored: None) -> None:
    stream = io.StringIO()
    configure_logging(logging.DEBUG, stream)
    aiosqlite = logging.getLogger("aiosqlite")
    saved = aiosqlite.level
    try:
        aiosqlite.debug("executing %s", "INSERT ... ('secret')")
        aiosqlite.setLevel(logging.DEBUG)  # a library opting itself in is held back too
        aiosqlite.debug("executing %s", "INSERT ... ('secret')")
        aiosqlite.info("closing")
        logging.getLogger("chat_srv.test").debug("ours")
        logging.getLogger("chat_srvx").debug("a look-alike name is not ours")
    finally:
        aiosqlite.setLevel(saved)
    log = stream.getvalue()
    assert "secret" not in log
    assert "INFO aiosqlite: closing" in log
    assert "DEBUG chat_srv.test: ours" in log
    assert "look-alike" not in log


def test_the_level_applies_to_our_loggers_and_others(logging_restored: None) -> None:
    stream = io.StringIO()
    configure_logging(logging.WARNING, stream)
    configure_logging(logging.WARNING, stream)  # again: still one handler
    logging.getLogger("chat_srv.test").info("quiet")
    logging.getLogger("asyncio").info("quiet too")
    logging.getLogger("chat_srv.test").warning("loud")
    assert stream.getvalue().count("loud") == 1
    assert "quiet" not in stream.getvalue()


def test_a_record_is_one_line_with_visible_escapes(logging_restored: None) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream)
    name = f"{FORGED}\r\u2028\u202eexe.gnp"
    logging.getLogger("chat_srv.service").info("registered %s from %s", name, "127.0.0.1")
    log = stream.getvalue()
    assert log.count("\n") == 1
    assert log.endswith(
        "INFO chat_srv.service: registered eve\\n2025-03-01 09:00:00,000 INFO "
        "chat_srv.service: login admin from 10.0.0.1\\r\\u2028\\u202eexe.gnp from 127.0.0.1\n"
    )
    assert len(log.splitlines()) == 1  # splitlines also breaks at U+2028 and \r


def test_a_traceback_stays_below_its_record() -> None:
    formatter = OneLineFormatter(FORMAT)
    try:
        raise ValueError(f"no user {FORGED}\u202e")
    except ValueError:
        record = logging.LogRecord(
            "chat_srv.service", logging.ERROR, __file__, 1, "request %d failed", (7,), None
        )
        record.exc_info = sys.exc_info()
    first, *below = formatter.format(record).split("\n")
    assert first.endswith("ERROR chat_srv.service: request 7 failed")
    assert below[0] == f"{CONTINUATION}Traceback (most recent call last):"
    assert all(line.startswith(CONTINUATION) for line in below)
    assert f"{CONTINUATION}ValueError: no user eve" in below
    # The forged record is a continuation line, its RLO an escape.
    assert below[-1] == (
        f"{CONTINUATION}2025-03-01 09:00:00,000 INFO chat_srv.service: "
        "login admin from 10.0.0.1\\u202e"
    )
    assert record.exc_text is None  # not cached: other handlers format their own
