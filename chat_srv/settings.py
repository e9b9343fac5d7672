"""The server's settings from a TOML file, `CHAT_*` variables and the command line.

`load` merges the three sources into one `Settings`: a flat record with a field per
key, each key named like its command-line option with `_` for `-`. The later source
wins: defaults < file < environment < command line. Every value is checked the same
way whatever its source (type, range, choices), and one that is refused raises
`SettingsError` naming the key and where it came from (the file's path, the
variable, the option): the server never starts on a half-understood configuration.

`Settings.server_config()` is the `ServerConfig` the server runs with; the other keys
(logging, the console) are for the command line itself. `settings_toml` writes
settings back as a file (`--print-config`).

Nothing here knows typer: `chat_srv/cli.py` hands over the options typed on the
command line as a mapping of keys to values.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final, TypeVar, get_type_hints

from chat_srv.config import Argon2Params, Registration, ServerConfig

ENV_PREFIX: Final = "CHAT_"
CONFIG_VARIABLE: Final = "CHAT_CONFIG"
"""The variable naming the config file (`--config`): a path, not a key."""
FOREIGN_PREFIXES: Final = ("CHAT_TEST_", "CHAT_BENCH_", "CHAT_FUZZ_")
"""Variables of the test suite and the benchmarks: not the server's, never refused."""
LOG_LEVELS: Final = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS: Final = ("text", "json")
COMMAND_LINE_ONLY: Final = frozenset({"log_level", "log_format", "log_file", "no_console"})
"""Keys the command line uses itself: not part of `ServerConfig`."""

_SERVER = ServerConfig()
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Rule:
    """What a key's value must be beyond its type."""

    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()  # compared in lower case
    address: bool = False  # "" or HOST:PORT
    secret: bool = False  # may hold a password: masked by `--print-config`


def _key(
    default: T,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
    address: bool = False,
    secret: bool = False,
) -> T:
    """A field with its rule; typed as its default so the record below reads plainly."""
    rule = Rule(minimum, maximum, choices, address, secret)
    return field(default=default, metadata={"rule": rule})


@dataclass(frozen=True, slots=True)
class Settings:
    """Every key of the config file, with its default (docs/configuration.md).

    Optional paths and addresses are "" when not given, as TOML has no null.
    """

    address: str = _SERVER.address
    port: int = _key(_SERVER.port, minimum=0, maximum=65535)
    db: str = _key(_SERVER.db, secret=True)
    db_timeout: float = _key(_SERVER.db_timeout, minimum=0.1)
    log_level: str = _key("info", choices=LOG_LEVELS)
    log_format: str = _key("text", choices=LOG_FORMATS)
    log_file: str = ""
    no_console: bool = False
    tls_cert: str = ""
    tls_key: str = ""
    max_frame: int = _key(_SERVER.max_frame, minimum=1024, maximum=16 * 1024 * 1024)
    outbound_buffer: int = _key(_SERVER.outbound_buffer, minimum=64 * 1024)
    request_rate: float = _key(_SERVER.request_rate, minimum=0)
    request_burst: int = _key(_SERVER.request_burst, minimum=1)
    max_connections: int = _key(_SERVER.max_connections, minimum=1)
    max_connections_per_ip: int = _key(_SERVER.max_connections_per_ip, minimum=1)
    limit_loopback: bool = _SERVER.limit_loopback
    login_timeout: float = _key(_SERVER.login_timeout, minimum=1)
    tls_handshake_timeout: float = _key(_SERVER.tls_handshake_timeout, minimum=0.1)
    frame_timeout: float = _key(_SERVER.frame_timeout, minimum=0.1)
    user_request_rate: float = _key(_SERVER.user_request_rate, minimum=0)
    user_request_burst: int = _key(_SERVER.user_request_burst, minimum=1)
    login_failures_per_user: int = _key(_SERVER.login_failures_per_user, minimum=1)
    login_failures_per_ip: int = _key(_SERVER.login_failures_per_ip, minimum=1)
    hash_workers: int = _key(_SERVER.hash_workers, minimum=0)
    hash_queue: int = _key(_SERVER.hash_queue, minimum=0)
    registration: str = _key(
        _SERVER.registration.value, choices=tuple(r.value for r in Registration)
    )
    registrations_per_ip: int = _key(_SERVER.registrations_per_ip, minimum=1)
    reserved_names: tuple[str, ...] = _SERVER.reserved_names
    token_days: int = _key(_SERVER.token_days, minimum=1)
    argon2_time_cost: int = _key(_SERVER.argon2.time_cost, minimum=1)
    argon2_memory_kib: int = _key(_SERVER.argon2.memory_kib, minimum=8)
    argon2_parallelism: int = _key(_SERVER.argon2.parallelism, minimum=1)
    admin_socket: str = _SERVER.admin_socket
    metrics: str = _key(_SERVER.metrics, address=True)
    cluster: str = _key(_SERVER.cluster, secret=True)
    node_id: str = _SERVER.node_id

    def server_config(self) -> ServerConfig:
        """The part of the settings the server takes, as a `ServerConfig`."""
        server_keys = {f.name for f in fields(ServerConfig)}
        values: dict[str, Any] = {key: getattr(self, key) for key in KEYS if key in server_keys}
        values.update(
            tls_cert=self.tls_cert or None,
            tls_key=self.tls_key or None,
            registration=Registration(self.registration),
            argon2=Argon2Params(
                self.argon2_time_cost, self.argon2_memory_kib, self.argon2_parallelism
            ),
        )
        return ServerConfig(**values)


KEYS: Final = tuple(f.name for f in fields(Settings))
"""Every key, in the order `--help` and `to_toml` show them."""
_TYPES: Final[Mapping[str, object]] = get_type_hints(Settings)
RULES: Final[Mapping[str, Rule]] = {
    f.name: f.metadata.get("rule", Rule()) for f in fields(Settings)
}
_NAMES: Final = tuple[str, ...]  # the type of a list key


@dataclass(frozen=True, slots=True)
class Loaded:
    """Settings, and where each value not left at its default came from."""

    settings: Settings
    origins: Mapping[str, str]  # key -> "config file F", "environment variable V", "option O"


class SettingsError(Exception):
    """A source or a value refused; the message names the key and the source."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


def option_name(key: str) -> str:
    """The command-line option of `key`: `max_frame` -> `--max-frame`."""
    return "--" + key.replace("_", "-")


def variable_name(key: str) -> str:
    """The environment variable of `key`: `max_frame` -> `CHAT_MAX_FRAME`."""
    return ENV_PREFIX + key.upper()


def split_names(text: str) -> tuple[str, ...]:
    """A comma-separated list (an option's or a variable's), blanks dropped."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def admin_socket_path(value: str) -> Path | None:
    """Where the admin socket is for an `admin_socket` value; None if turned off."""
    return ServerConfig(admin_socket=value).admin_socket_path


def load(
    *,
    file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    options: Mapping[str, object] | None = None,
) -> Loaded:
    """Merge the sources: options over the environment over the file over defaults.

    Args:
        file: a TOML file (`--config`), or None.
        environ: the variables to read (`os.environ` if None); only `CHAT_*` ones count.
        options: the values typed on the command line, by key.

    Raises:
        SettingsError: an unreadable file, an unknown key or variable, a value of the
            wrong type, out of range or not one of the choices.
    """
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if file is not None:
        origin = f"config file {file}"
        for key, raw in _read(file, origin).items():
            if key not in _TYPES:
                raise SettingsError(origin, f"unknown key {key!r}{_hint(key, KEYS)}")
            values[key] = _from_toml(key, raw, f"{origin}, key {key}")
            origins[key] = origin
    for name, text in sorted((os.environ if environ is None else environ).items()):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_VARIABLE:
            continue
        if name.startswith(FOREIGN_PREFIXES):
            continue
        origin = f"environment variable {name}"
        key = name.removeprefix(ENV_PREFIX).lower()
        if key not in _TYPES or name != variable_name(key):
            hint = _hint(name.upper(), [variable_name(k) for k in KEYS])
            raise SettingsError(origin, f"no such setting{hint}")
        values[key] = _from_text(key, text, origin)
        origins[key] = origin
    for key, value in (options or {}).items():
        origin = f"option {option_name(key)}"
        values[key] = _from_option(key, value, origin)
        origins[key] = origin
    return Loaded(Settings(**values), origins)


def _hint(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]}?)" if close else " (see docs/configuration.md)"


def _read(file: Path, origin: str) -> dict[str, Any]:
    try:
        with file.open("rb") as stream:
            return tomllib.load(stream)
    except OSError as error:
        raise SettingsError(origin, f"cannot read it: {error.strerror or error}") from None
    except ValueError as error:  # TOMLDecodeError, or bytes that are not UTF-8
        raise SettingsError(origin, f"not valid TOML: {error}") from None


def _from_toml(key: str, raw: object, where: str) -> object:
    """A file's value: TOML's own types, nothing parsed out of strings."""
    kind = _TYPES[key]
    value: object = None  # stays None if `raw` is of the wrong type
    if kind is bool:
        value = raw if isinstance(raw, bool) else None
    elif isinstance(raw, bool):
        pass  # true is not 1 here
    elif kind is int:
        value = raw if isinstance(raw, int) else None
    elif kind is float:
        value = float(raw) if isinstance(raw, int | float) else None
    elif kind is str:
        value = raw if isinstance(raw, str) else None
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        value = tuple(name.strip() for name in raw if name.strip())
    if value is None:
        raise SettingsError(where, f"expected {_wanted(kind)}, got {_toml_kind(raw)} {raw!r}")
    return _checked(key, value, where)


def _from_text(key: str, text: str, where: str) -> object:
    """A variable's value, parsed from its text."""
    kind = _TYPES[key]
    value: object = text
    try:
        if kind is bool:
            word = text.strip().lower()
            if word not in _TRUE | _FALSE:
                raise ValueError(text)
            value = word in _TRUE
        elif kind is int:
            value = int(text)
        elif kind is float:
            value = float(text)
        elif kind == _NAMES:
            value = split_names(text)
    except ValueError:
        wanted = "true or false (or 1/0, yes/no, on/off)" if kind is bool else _wanted(kind)
        raise SettingsError(where, f"expected {wanted}, got {text!r}") from None
    return _checked(key, value, where)


def _from_option(key: str, value: object, where: str) -> object:
    """An option's value: typer typed it already, but for lists and integral floats."""
    kind = _TYPES[key]
    if kind == _NAMES and isinstance(value, str):
        value = split_names(value)
    elif kind is float and isinstance(value, int):
        value = float(value)
    elif kind is str and isinstance(value, str):
        value = str(value)  # a StrEnum (--registration) as its plain value
    return _checked(key, value, where)


def _checked(key: str, value: object, where: str) -> object:
    rule = RULES[key]
    if isinstance(value, float) and not math.isfinite(value):
        raise SettingsError(where, f"expected a finite number, got {value!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = rule.minimum, rule.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            raise SettingsError(where, f"{value!r} is out of range ({_range(low, high)})")
    if rule.choices and isinstance(value, str):
        value = value.lower()
        if value not in rule.choices:
            choices = ", ".join(rule.choices)
            raise SettingsError(where, f"expected one of {choices}, got {value!r}")
    if rule.address and isinstance(value, str) and value:
        host, colon, port = value.rpartition(":")
        if not (colon and host and port.isascii() and port.isdigit() and int(port) <= 65535):
            raise SettingsError(where, f"expected ADDRESS:PORT (127.0.0.1:9100), got {value!r}")
    return value


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"from {low} to {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


def _wanted(kind: object) -> str:
    if kind is bool:
        return "true or false"
    if kind is int:
        return "an integer"
    if kind is float:
        return "a number"
    return "a string" if kind is str else "an array of strings"


def _toml_kind(raw: object) -> str:
    kinds = [(bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string")]
    kinds += [(list, "an array"), (dict, "a table")]
    return next((name for kind, name in kinds if isinstance(raw, kind)), "a date or time")
