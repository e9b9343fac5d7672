"""The server's settings, with the defaults the documentation gives."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from chat_core.framing import CLIENT_FRAME_LIMIT

DEFAULT_PORT = 7878
DEFAULT_OUTBOUND_BUFFER = 1024 * 1024

# Names a stranger could use to pass for the server's staff or to address everyone
# (`@all`), refused at registration along with their look-alikes. An administrator
# may still create them on the console (`add user`).
DEFAULT_RESERVED_NAMES = (
    "abuse",
    "admin",
    "administrator",
    "all",
    "console",
    "everyone",
    "here",
    "mod",
    "moderator",
    "nobody",
    "operator",
    "postmaster",
    "root",
    "security",
    "server",
    "staff",
    "support",
    "sysop",
    "system",
    "webmaster",
)


class Registration(enum.StrEnum):
    """Who may create an account."""

    OPEN = "open"  # anyone, with `register`
    CLOSED = "closed"  # only the administrator (`add user` on the console)


def default_db_path() -> Path:
    """The SQLite file used when no `--db` is given: in the user's data directory."""
    return Path(platformdirs.user_data_dir("chat-server")) / "chat.db"


def default_admin_socket() -> Path:
    """The admin socket used when no `--admin-socket` is given: in the user's state directory."""
    return Path(platformdirs.user_state_dir("chat-server")) / "admin.sock"


NO_ADMIN_SOCKET = "none"  # the `--admin-socket` value that turns the socket off


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Cost of the argon2id password hash (RFC 9106 low-memory profile by default)."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything the server can be told; every limit has a sane default."""

    address: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    db: str = ""  # a SQLite path or a mysql:// URL; "" = default_db_path()
    tls_cert: str | None = None  # PEM certificate chain: serve TLS only
    tls_key: str | None = None  # its private key
    max_frame: int = CLIENT_FRAME_LIMIT  # largest payload accepted from a client
    outbound_buffer: int = DEFAULT_OUTBOUND_BUFFER  # bytes queued to a client before slow_consumer
    db_timeout: float = 5.0  # seconds a MySQL operation may take before `unavailable`
    max_batch: int = 512  # most messages stored in one group-commit transaction
    shutdown_grace: float = 5.0  # seconds to flush goodbyes before closing anyway
    argon2: Argon2Params = Argon2Params()
    request_rate: float = 10.0  # requests a second per connection; 0 = no limit
    request_burst: int = 30  # requests a connection may save up
    flood_limit: int = 50  # refused requests in a row before the connection is closed
    login_failures_per_user: int = 5  # failed logins a minute (strangers', or one known address's)
    login_failures_per_ip: int = 20  # the same per address (known user+address pairs pass)
    hash_workers: int = 0  # argon2id computations at once; 0 = one per core
    hash_queue: int = 32  # more that may wait for a worker before `rate_limited`
    registration: Registration = Registration.OPEN
    registrations_per_ip: int = 5  # accounts an hour from one address (see limit_loopback)
    reserved_names: tuple[str, ...] = DEFAULT_RESERVED_NAMES
    token_days: int = 30  # a session token expires after this many days unused
    presence_window: float = 0.1  # seconds presence changes wait, merged, for version 2
    user_request_rate: float = 20.0  # a second per user, all connections (0: none)
    user_request_burst: int = 60  # requests a user may save up
    max_connections: int = 10_000  # open connections in all
    max_connections_per_ip: int = 32  # open connections from one address
    limit_loopback: bool = False  # apply the per-address limit to 127.0.0.0/8 and ::1 too
    login_timeout: float = 30.0  # seconds a connection may stay without logging in
    tls_handshake_timeout: float = 10.0  # seconds from accept to a finished TLS handshake
    frame_timeout: float = 30.0  # seconds a frame may take from its first byte to its last
    admin_socket: str = ""  # the admin socket's path; "" = default_admin_socket(); "none" = off
    metrics: str = ""  # ADDRESS:PORT to serve Prometheus metrics on; "" = off
    cluster: str = ""  # redis://HOST:PORT/DB: one of several nodes on one MySQL; "" = alone
    node_id: str = ""  # this node's name in the cluster; "" = HOSTNAME:PORT

    @property
    def hashers(self) -> int:
        """How many passwords are hashed at once: `hash_workers`, or one per core."""
        return self.hash_workers or os.cpu_count() or 1

    @property
    def admin_socket_path(self) -> Path | None:
        """Where the admin socket goes, or None when it is turned off."""
        if self.admin_socket == NO_ADMIN_SOCKET:
            return None
        return Path(self.admin_socket) if self.admin_socket else default_admin_socket()

    @property
    def database(self) -> str:
        """The database to open: `db`, or the default SQLite file."""
        return self.db or str(default_db_path())
