"""The last server and user name, remembered between runs (never the password), and
the user's preferences.

Both live in the user's configuration directory (platformdirs). `client.json` is
the client's to write: reading a missing or damaged one gives nothing rather than
an error, as it is only a convenience. `settings.toml` is the user's to write (the
client never does): a mistake in it is reported, and the defaults apply.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Annotated

import msgspec
import platformdirs

from chat_tui import DEFAULT_PORT

DEFAULT_HOST = "127.0.0.1"
DEFAULT_THEME = "textual-dark"
TIME_FORMAT = "%H:%M"  # a message's time, by default
TIME_FORMAT_SECONDS = "%H:%M:%S"
TIME_FORMAT_MAX = 40  # characters, at most, of a `timestamp_format`


class LastUsed(msgspec.Struct, kw_only=True):
    """Where the user last logged in, and as whom."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    user: str = ""


class Preferences(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the user may set in `settings.toml`."""

    away_after_minutes: Annotated[float, msgspec.Meta(ge=0)] = 10
    """Minutes without a key pressed before the user is set away; 0 never."""
    bell: bool = True
    """Ring the terminal's bell for a direct message or a mention."""
    notifications: bool = True
    """Pop up a notification for a direct message or a mention."""
    theme: str = DEFAULT_THEME
    """The colours: the name of one of Textual's themes (`nord`, `gruvbox`, …)."""
    timestamp_format: str | None = None
    """A message's time, as `strftime` writes it (None: `%H:%M`, or with `seconds`)."""
    seconds: bool = False
    """Show seconds in the times of messages (when no `timestamp_format` is given)."""
    show_joins: bool = True
    """Show who joins and leaves a room as lines in its messages."""
    keys: dict[str, str] = msgspec.field(default_factory=dict)
    """Other keys for actions: the binding's id, then its keys (`"chat.jump_3" = "f3"`;
    several: `"f3,alt+3"`), for Textual's `App.set_keymap`."""

    def __post_init__(self) -> None:
        """Refuse a theme that does not exist and a time format that cannot be shown."""
        from textual.theme import BUILTIN_THEMES  # Textual loads only when it is needed

        if self.theme not in BUILTIN_THEMES:
            names = ", ".join(sorted(BUILTIN_THEMES))
            raise ValueError(f"no theme called {self.theme!r}; the themes are {names}")
        form = self.timestamp_format
        if form is not None:
            shown = "" if not form.strip() else datetime(2025, 6, 3, 9, 5, 7).strftime(form)
            if not shown.strip() or len(form) > TIME_FORMAT_MAX or not shown.isprintable():
                raise ValueError(
                    f"timestamp_format is a strftime format of 1 to {TIME_FORMAT_MAX} "
                    "characters, on one line (like %H:%M)"
                )

    @property
    def time_format(self) -> str:
        """The `strftime` format of a message's time."""
        if self.timestamp_format is not None:
            return self.timestamp_format
        return TIME_FORMAT_SECONDS if self.seconds else TIME_FORMAT

    @property
    def away_after(self) -> float | None:
        """Seconds of idleness before auto-away, or None for never."""
        return self.away_after_minutes * 60 or None


def default_path() -> Path:
    """`client.json` in the user's configuration directory for chat-tui."""
    return Path(platformdirs.user_config_dir("chat-tui")) / "client.json"


class Settings:
    """Reads and writes `LastUsed` in one file; reads `Preferences` from another beside it.

    Args:
        path: The `LastUsed` file (default: `default_path()`).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()
        self.preferences_path = self.path.with_name("settings.toml")
        """Where the user writes their preferences."""

    def preferences(self, actions: Collection[str] | None = None) -> Preferences:
        """The user's preferences (the defaults if there is no file).

        Args:
            actions: The ids of the bindings `[keys]` may name (None: not checked).

        Raises:
            ValueError: the file cannot be read or holds a mistake (said in words).
        """
        try:
            data = self.preferences_path.read_bytes()
        except FileNotFoundError:
            return Preferences()
        except OSError as error:
            raise ValueError(f"cannot read {self.preferences_path}: {error}") from None
        try:
            preferences = msgspec.toml.decode(data, type=Preferences)
        except msgspec.DecodeError as error:
            raise ValueError(f"{self.preferences_path}: {error}") from None
        unknown = sorted(set(preferences.keys) - set(actions)) if actions is not None else []
        if unknown:
            names = ", ".join(f"`{action}`" for action in unknown)
            raise ValueError(f"{self.preferences_path}: no action called {names} in `[keys]`")
        return preferences

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
