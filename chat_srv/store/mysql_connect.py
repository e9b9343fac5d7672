"""Reaching MySQL: the `mysql://` URL, and what the driver's errors mean.

Kept apart from the store so the rules for "the connection is gone" (answer
`unavailable`, reconnect) and for failures at start (say what to fix) are in one
short place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql

from chat_srv.store.base import StoreError, StoreUnavailable

# Server errors that mean this connection is finished: shutdown in progress, query
# interrupted, connection killed (1927 is MariaDB's ER_CONNECTION_KILLED).
LOST_CODES = frozenset({1053, 1317, 1927})


@dataclass(frozen=True, slots=True)
class MysqlUrl:
    """The parts of a `mysql://user:password@host:port/database` URL."""

    host: str
    port: int
    user: str
    password: str
    database: str

    @property
    def where(self) -> str:
        """host:port, for messages (never the password)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_mysql_url(url: str) -> MysqlUrl:
    """Parse `mysql://user:password@host:port/database` (port 3306 by default).

    User and password may be percent-encoded (`p%40ss` for `p@ss`). Raises
    `ValueError` saying what is wrong; the message never repeats the password.
    """
    form = "mysql://user:password@host:port/database"
    parts = urlsplit(url)
    if parts.scheme != "mysql":
        raise ValueError(f"a MySQL URL starts with mysql:// (expected {form})")
    if parts.query or parts.fragment:
        raise ValueError(f"a MySQL URL has no '?' or '#' part (expected {form})")
    if not parts.hostname:
        raise ValueError(f"the MySQL URL names no host (expected {form})")
    try:
        port = parts.port or 3306
    except ValueError:
        raise ValueError(f"the MySQL URL's port is not a number from 1 to 65535 ({form})") from None
    if not parts.username:
        raise ValueError(f"the MySQL URL names no user (expected {form})")
    database = unquote(parts.path.removeprefix("/"))
    if not database or "/" in database:
        raise ValueError(f"the MySQL URL names no database, or more than one (expected {form})")
    if len(database) > 64:
        raise ValueError("a MySQL database name has at most 64 characters")
    return MysqlUrl(
        parts.hostname, port, unquote(parts.username), unquote(parts.password or ""), database
    )


def error_code(error: BaseException) -> int:
    """The MySQL error number of a pymysql error, 0 for anything else."""
    args: tuple[Any, ...] = getattr(error, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0


def connection_lost(error: BaseException) -> bool:
    """Whether the error means the connection is gone (not a refusal by the server)."""
    if isinstance(error, pymysql.err.InterfaceError | OSError):
        return True
    code = error_code(error)
    return isinstance(error, pymysql.err.OperationalError) and (code >= 2000 or code in LOST_CODES)


def describe(error: BaseException) -> str:
    args: tuple[Any, ...] = getattr(error, "args", ())
    if isinstance(error, pymysql.err.MySQLError) and len(args) >= 2:
        return f"{args[1]} (error {args[0]})"
    return str(error) or type(error).__name__


def open_error(url: MysqlUrl, error: BaseException) -> StoreError:
    """A clear message for the ways opening the database commonly fails."""
    code = error_code(error)
    if code == 1045:
        return StoreError(
            f"MySQL at {url.where} refused user {url.user!r}: wrong user name or password"
            " (error 1045)"
        )
    if code == 1044:
        return StoreError(
            f"user {url.user!r} may not use database {url.database!r} at {url.where} (error"
            f" 1044): GRANT ALL ON `{url.database}`.* TO the user"
        )
    if code == 1049:
        return StoreError(
            f"database {url.database!r} does not exist at {url.where} (error 1049); create it"
            f" with: CREATE DATABASE `{url.database}` CHARACTER SET utf8mb4"
        )
    if code == 2003 or isinstance(error, OSError):
        return StoreUnavailable(
            f"cannot reach MySQL at {url.where} (error 2003): is the server running and"
            f" listening there? ({describe(error)})"
        )
    return StoreUnavailable(
        f"cannot open database {url.database!r} at {url.where}: {describe(error)}"
    )
