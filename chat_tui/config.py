"""The last server and user name, remembered between runs (never the password).

A small JSON file in the user's configuration directory (platformdirs). Reading a
missing or damaged file gives nothing rather than an error: it is only a
convenience.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import msgspec
import platformdirs

from chat_tui import DEFAULT_PORT

DEFAULT_HOST = "127.0.0.1"


class LastUsed(msgspec.Struct, kw_only=True):
    """Where the user last logged in, and as whom."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    user: str = ""


def default_path() -> Path:
    """`client.json` in the user's configuration directory for chat-tui."""
    return Path(platformdirs.user_config_dir("chat-tui")) / "client.json"


class Settings:
    """Reads and writes `LastUsed` in one file.

    Args:
        path: The file (default: `default_path()`).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()

    def load(self) -> LastUsed:
        """What was saved, or the defaults."""
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=LastUsed)
        except (OSError, msgspec.DecodeError):
            return LastUsed()

    def save(self, last: LastUsed) -> None:
        """Remember `last`; a read-only or missing home is not an error."""
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(msgspec.json.encode(last))


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]:port` or `v6` as a host and a port.

    Raises:
        ValueError: the port is not a number in 1..65535, or the host is empty.
    """
    text = text.strip()
    host, port = text, str(default_port)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("give the server as host:port, e.g. 127.0.0.1:7878")
    return host, int(port)


def format_address(host: str, port: int) -> str:
    """The inverse of `parse_address`."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
