"""The server's logging: one event per line, user text escaped, other libraries kept quiet.

`configure_logging` is what `chat-server --log-level`, `--log-format` and
`--log-file` set up: lines of text (`OneLineFormatter`) or JSON objects
(`JsonFormatter`), on stderr and, with a file, in that file too. Two rules hold at
every level and in both formats:

- **No secrets.** Our own loggers never log a message body, a password or its
  hash. Other libraries may: aiosqlite logs every statement with its parameters
  at DEBUG (the bodies and hashes being stored), so every logger outside
  `chat_srv` is held at INFO or above whatever the level asked for; `--log-level
  debug` is for the server's own loggers only.
- **One event, one line.** `OneLineFormatter` escapes the line of every record
  with `chat_srv.escapes.visible`, so a user name or reason holding a newline,
  a CR, U+2028 or a bidi override cannot forge or reorder a log line. A
  traceback stays on the lines below its record, each line escaped and marked
  with `  | `, so nothing after the first line can pass for a record of its own.
  In JSON a record is one object on one line, its traceback a string inside it.

A record may carry structured fields for machines: `log.info("...", extra={"fields":
{"port": 7878}})`. The JSON format writes them under `fields`; the text format
leaves them out, so the message itself must say what a person needs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Mapping
from typing import Any, Final, TextIO

from chat_srv.escapes import is_hidden, needs_escaping, visible

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OWN = "chat_srv"
"""The loggers `--log-level` applies to: this one and those below it."""
OTHERS_FLOOR = logging.INFO
"""The lowest level any other library's records are written at."""
CONTINUATION = "  | "
"""The start of each traceback line below its record."""
_HANDLER_NAME = "chat_srv"  # how `configure_logging` finds the handlers it installed
_FILE_HANDLER_NAME = "chat_srv.file"
LOG_FORMATS: Final = ("text", "json")
"""The values of `--log-format`."""


class LogFileError(OSError):
    """The log file cannot be opened for appending; the message names it and says why."""


class OneLineFormatter(logging.Formatter):
    """Formats a record as one line with every hidden character escaped.

    An exception's traceback (and a stack) follows on lines of its own, each
    escaped and prefixed with `CONTINUATION`: the frames are ours, but the
    exception's message may quote user text. Unlike `logging.Formatter`, the
    traceback is not cached on the record, so other handlers format their own.
    """

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = visible(self.formatMessage(record))
        below: list[str] = []
        if record.exc_info:
            below.append(self.formatException(record.exc_info))
        elif record.exc_text:
            below.append(record.exc_text)
        if record.stack_info:
            below.append(self.formatStack(record.stack_info))
        # Split on \n alone: a U+2028 in an exception message is escaped, not a break.
        lines = (line for block in below for line in block.split("\n"))
        return "".join([text, *(f"\n{CONTINUATION}{visible(line)}" for line in lines)])


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line.

    Keys: `time` (ISO 8601, UTC, milliseconds), `level`, `logger`, `event` (the
    message), and when present `fields` (the record's `extra={"fields": {...}}`),
    `exc` (the traceback) and `stack`. Values that JSON cannot hold are written
    as their `str()`; fields it cannot hold at all (a tuple as a key, a cycle)
    as the `repr()` of the whole.

    Text is kept readable (`ensure_ascii=False`: Général stays Général), but
    every character `chat_srv.escapes` would hide becomes a `\\uXXXX` escape:
    JSON escapes only controls below U+0020 itself, and a reader splitting lines
    the way `str.splitlines` does breaks at U+0085, U+2028 and U+2029, while a
    bidi override or a zero-width character would hide or reorder text for
    someone reading the file. `json.loads` gives back exactly the original text.
    """

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": utc_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping) and fields:
            event["fields"] = {str(key): value for key, value in fields.items()}
        if record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            event["exc"] = record.exc_text
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        try:
            return one_line_json(event)
        except (TypeError, ValueError):  # keys JSON cannot hold, or a cycle: say them as text
            event["fields"] = repr(fields)
            return one_line_json(event)


def utc_time(created: float) -> str:
    """`created` (seconds since the epoch) as 2025-03-01T09:00:00.123Z."""
    whole = int(created)
    millis = min(int((created - whole) * 1000), 999)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


_NON_ASCII = re.compile(r"[^\x00-\x7e]")


def one_line_json(value: Any) -> str:
    """`value` as JSON on one line, every hidden character a `\\u` escape (see
    `JsonFormatter`)."""
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    if not needs_escaping(text):
        return text
    return _NON_ASCII.sub(_json_escape, text)


def _json_escape(found: re.Match[str]) -> str:
    char = found.group()
    if not is_hidden(char):
        return char
    code = ord(char)
    if code > 0xFFFF:  # JSON spells it as a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


class _OthersFloor(logging.Filter):
    """Passes records from our loggers, and others' only from `OTHERS_FLOOR` up.

    The levels set by `configure_logging` already keep others' debug records from
    being made; this filter holds even if a library sets its own logger's level.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= OTHERS_FLOOR:
            return True
        name = record.name
        return name == OWN or name.startswith(OWN + ".")


def configure_logging(
    level: int,
    stream: TextIO | None = None,
    *,
    log_format: str = "text",
    log_file: str | os.PathLike[str] | None = None,
) -> None:
    """Log to `stream` (stderr by default) at `level` for the server, INFO+ for the rest.

    Replaces the handlers an earlier call installed; other handlers on the root
    logger are left alone. Nothing changes if the log file cannot be opened.

    Args:
        level: the level of the `chat_srv` loggers (`logging.DEBUG`...).
        stream: where lines are written; `sys.stderr` if None.
        log_format: "text" (one escaped line per record) or "json" (one object a line).
        log_file: a file to write the same lines to as well, appended to.

    Raises:
        ValueError: `log_format` is not one of `LOG_FORMATS`.
        LogFileError: `log_file` cannot be opened for appending.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"the log format is text or json, not {log_format!r}")
    handlers: list[logging.Handler] = [logging.StreamHandler(stream)]
    handlers[0].set_name(_HANDLER_NAME)
    if log_file is not None:
        try:
            file_handler = logging.FileHandler(log_file, mode="a", encoding="utf-8")
        except OSError as error:
            raise LogFileError(
                f"cannot open the log file {os.fspath(log_file)}: {error.strerror or error}"
            ) from error
        file_handler.set_name(_FILE_HANDLER_NAME)
        handlers.append(file_handler)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() in (_HANDLER_NAME, _FILE_HANDLER_NAME):
            root.removeHandler(handler)
            if isinstance(handler, logging.FileHandler):
                handler.close()
    formatter = JsonFormatter() if log_format == "json" else OneLineFormatter(FORMAT)
    for handler in handlers:
        handler.setLevel(level)
        handler.setFormatter(formatter)
        handler.addFilter(_OthersFloor())
        root.addHandler(handler)
    root.setLevel(max(level, OTHERS_FLOOR))
    logging.getLogger(OWN).setLevel(level)
