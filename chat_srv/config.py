"""The server's settings, with the defaults the documentation gives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

from chat_core.framing import CLIENT_FRAME_LIMIT

DEFAULT_PORT = 7878
DEFAULT_OUTBOUND_BUFFER = 1024 * 1024


def default_db_path() -> Path:
    """The SQLite file used when no `--db` is given: in the user's data directory."""
    return Path(platformdirs.user_data_dir("chat-server")) / "chat.db"


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
    login_failures_per_user: int = 5  # failed logins a minute before `rate_limited`
    login_failures_per_ip: int = 20  # the same per address (known user+address pairs pass)
    max_connections: int = 10_000  # open connections in all
    max_connections_per_ip: int = 32  # open connections from one address
    limit_loopback: bool = False  # apply the per-address limit to 127.0.0.0/8 and ::1 too
    login_timeout: float = 30.0  # seconds a connection may stay without logging in

    @property
    def database(self) -> str:
        """The database to open: `db`, or the default SQLite file."""
        return self.db or str(default_db_path())
