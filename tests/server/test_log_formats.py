"""`--log-format json` and `--log-file`: one JSON object a line, the same lines in the file."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest

from chat_core import messages as m
from chat_srv.logs import LogFileError, configure_logging
from tests.helpers import register, running_server

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
LISTENING = re.compile(r"listening on \S+ port (\d+)")  # what tests and benchmarks read
HOSTILE = "eve\n2025-03-01 09:00:00,000 INFO chat_srv.service: login admin\r\u2028\u2029\u202eexe"


def _events(text: str) -> list[dict[str, object]]:
    """Every line of `text` as one JSON object (str.splitlines: U+2028 breaks too)."""
    lines = text.splitlines()
    assert text.endswith("\n")
    assert len(lines) == text.count("\n")  # no line break but the record's own
    return [json.loads(line) for line in lines]


def test_a_json_record_is_one_line_that_gives_back_the_text(logging_restored: None) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream, log_format="json")
    log = logging.getLogger("chat_srv.service")
    log.info("registered %s from %s", HOSTILE, "127.0.0.1", extra={"fields": {"user": HOSTILE}})
    text = stream.getvalue()
    [event] = _events(text)
    assert event["event"] == f"registered {HOSTILE} from 127.0.0.1"
    assert event["fields"] == {"user": HOSTILE}
    assert (event["level"], event["logger"]) == ("INFO", "chat_srv.service")
    assert TIME.fullmatch(str(event["time"]))
    for hidden in ("\u2028", "\u2029", "\u202e", "\r"):
        assert hidden not in text  # escaped, not written as they are
    assert "\\u2028" in text
    assert "\\u202e" in text


def test_json_keeps_readable_text_and_escapes_the_hidden(logging_restored: None) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream, log_format="json")
    tricky = "Général \x85 \u200b \ufeff \U000e0041 \x7f \ud800"
    logging.getLogger("chat_srv.test").warning("room %s", tricky)
    text = stream.getvalue()
    assert "Général" in text  # ensure_ascii=False: names stay readable
    assert "\\u0085" in text
    assert "\\udb40\\udc41" in text  # a tag character, as JSON spells it
    assert text.encode("utf-8")  # a lone surrogate is escaped, so the line can be written
    [event] = _events(text)
    assert event["event"] == f"room {tricky}"
    assert event["level"] == "WARNING"
    assert "fields" not in event


def test_a_json_traceback_stays_in_its_record(logging_restored: None) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream, log_format="json")
    try:
        raise ValueError(f"no user {HOSTILE}")
    except ValueError:
        logging.getLogger("chat_srv.service").exception("request %d failed", 7)
    [event] = _events(stream.getvalue())
    assert event["event"] == "request 7 failed"
    exc = str(event["exc"])
    assert exc.startswith("Traceback (most recent call last):")
    assert exc.endswith(f"ValueError: no user {HOSTILE}")


def test_fields_json_cannot_hold_are_written_as_text(logging_restored: None) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream, log_format="json")
    logging.getLogger("chat_srv.test").info("odd", extra={"fields": {"path": Path("/x"), 3: 4}})
    logging.getLogger("chat_srv.test").info("odder", extra={"fields": {"k": {(1, 2): 3}}})
    first, second = _events(stream.getvalue())
    assert first["fields"] == {"path": "/x", "3": 4}
    assert second["event"] == "odder"
    assert isinstance(second["fields"], str)


def test_the_text_format_leaves_fields_out(logging_restored: None) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream)
    logging.getLogger("chat_srv.test").info("said in words", extra={"fields": {"k": "v"}})
    assert stream.getvalue().endswith(" INFO chat_srv.test: said in words\n")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_log_file_gets_the_same_lines(
    log_format: str, tmp_path: Path, logging_restored: None
) -> None:
    path = tmp_path / "chat.log"
    path.write_text("an earlier line\n", encoding="utf-8")
    stream = io.StringIO()
    configure_logging(logging.INFO, stream, log_format=log_format, log_file=path)
    log = logging.getLogger("chat_srv.test")
    log.info("first %s", HOSTILE)
    log.warning("second")
    logging.getLogger("chat_srv.test").debug("below the level")
    written = path.read_text(encoding="utf-8")
    assert written == "an earlier line\n" + stream.getvalue()  # appended, the same lines
    assert stream.getvalue().count("\n") == 2


def test_configuring_again_replaces_the_file(tmp_path: Path, logging_restored: None) -> None:
    first, second = tmp_path / "one.log", tmp_path / "two.log"
    stream = io.StringIO()
    configure_logging(logging.INFO, stream, log_file=first)
    configure_logging(logging.INFO, stream, log_file=second)
    logging.getLogger("chat_srv.test").info("only in the second")
    assert first.read_text() == ""
    assert "only in the second" in second.read_text()
    assert stream.getvalue().count("only in the second") == 1


def test_a_log_file_that_cannot_be_opened_is_a_clear_error(
    tmp_path: Path, logging_restored: None
) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream)
    missing = tmp_path / "no such directory" / "chat.log"
    with pytest.raises(LogFileError, match=r"cannot open the log file .*chat\.log: No such file"):
        configure_logging(logging.INFO, stream, log_format="json", log_file=missing)
    with pytest.raises(LogFileError, match="Is a directory"):
        configure_logging(logging.INFO, stream, log_file=tmp_path)
    # What was configured before still holds.
    logging.getLogger("chat_srv.test").info("still text")
    assert stream.getvalue().endswith(" INFO chat_srv.test: still text\n")


def test_an_unknown_format_is_refused(logging_restored: None) -> None:
    with pytest.raises(ValueError, match="text or json"):
        configure_logging(logging.INFO, io.StringIO(), log_format="xml")


async def test_a_server_logs_json_and_names_how_it_runs(
    db_path: str, tmp_path: Path, logging_restored: None
) -> None:
    stream = io.StringIO()
    path = tmp_path / "server.log"
    configure_logging(logging.DEBUG, stream, log_format="json", log_file=path)
    async with running_server(db_path, metrics="127.0.0.1:0") as server:
        alice = await register(server.port, "alice")
        await alice.call(m.Send, room="Général", body="hello")
        metrics = server.metrics_address
        port = server.port
    text = stream.getvalue()
    assert path.read_text(encoding="utf-8") == text
    events = _events(text)
    [started] = [e for e in events if str(e["event"]).startswith("listening on ")]
    assert started["event"] == (
        f"listening on 127.0.0.1 port {port} (store sqlite:{db_path}, TLS off,"
        f" admin socket off, metrics {metrics})"
    )
    assert started["fields"] == {
        "address": "127.0.0.1",
        "port": port,
        "store": f"sqlite:{db_path}",
        "tls": False,
        "admin_socket": None,
        "metrics": metrics,
    }
    found = LISTENING.search(text)  # the raw line still reads as the benchmarks expect
    assert found is not None
    assert int(found.group(1)) == port
    assert any(e["level"] == "DEBUG" for e in events)
    assert "hello" not in text


async def test_the_text_startup_line_without_metrics(db_path: str, logging_restored: None) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream)
    async with running_server(db_path) as server:
        port = server.port
    line = next(x for x in stream.getvalue().splitlines() if "listening on" in x)
    assert line.endswith(
        f"INFO chat_srv.server: listening on 127.0.0.1 port {port}"
        f" (store sqlite:{db_path}, TLS off, admin socket off, metrics off)"
    )


def test_json_time_is_utc_with_milliseconds(logging_restored: None) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream, log_format="json")
    record = logging.LogRecord("chat_srv.test", logging.INFO, __file__, 1, "at", (), None)
    record.created = 1740819600.0456  # 2025-03-01 09:00:00.045 UTC
    logging.getLogger().handle(record)
    [event] = _events(stream.getvalue())
    assert event["time"] == "2025-03-01T09:00:00.045Z"


def test_stack_info_is_kept(logging_restored: None) -> None:
    stream = io.StringIO()
    configure_logging(logging.INFO, stream, log_format="json")
    logging.getLogger("chat_srv.test").info("where", stack_info=True)
    [event] = _events(stream.getvalue())
    assert str(event["stack"]).startswith("Stack (most recent call last):")
