"""`chat-server`: the command line that starts the server."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import ssl
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from chat_core.framing import CLIENT_FRAME_LIMIT
from chat_srv.config import (
    DEFAULT_OUTBOUND_BUFFER,
    DEFAULT_PORT,
    DEFAULT_RESERVED_NAMES,
    Argon2Params,
    Registration,
    ServerConfig,
)
from chat_srv.control import ControlSocketError
from chat_srv.logs import configure_logging
from chat_srv.server import ChatServer
from chat_srv.store import StoreError

log = logging.getLogger("chat_srv")

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def serve(
    address: Annotated[
        str, typer.Option("--address", "-a", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", min=0, max=65535, help="TCP port to listen on.")
    ] = DEFAULT_PORT,
    db: Annotated[
        str,
        typer.Option(
            "--db",
            envvar="CHAT_DB",
            help="SQLite file, or mysql://user:password@host:port/database. "
            "Default: chat.db in the user's data directory.",
        ),
    ] = "",
    db_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a MySQL operation may take.")
    ] = 5.0,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = "info",
    no_console: Annotated[
        bool, typer.Option("--no-console", help="Run headless even in a terminal.")
    ] = False,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate chain: serve TLS only.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="The certificate's private key.")] = None,
    max_frame: Annotated[
        int, typer.Option(min=1024, max=16 * 1024 * 1024, help="Largest frame from a client.")
    ] = CLIENT_FRAME_LIMIT,
    outbound_buffer: Annotated[
        int,
        typer.Option(min=64 * 1024, help="Bytes queued to a client before it is dropped as slow."),
    ] = DEFAULT_OUTBOUND_BUFFER,
    request_rate: Annotated[
        float,
        typer.Option(min=0, help="Requests a second per connection (0: no limit, benchmarks)."),
    ] = 10.0,
    request_burst: Annotated[
        int, typer.Option(min=1, help="Requests a connection may send at once.")
    ] = 30,
    max_connections: Annotated[int, typer.Option(min=1, help="Open connections in all.")] = 10_000,
    max_connections_per_ip: Annotated[
        int, typer.Option(min=1, help="Open connections from one address.")
    ] = 32,
    limit_loopback: Annotated[
        bool, typer.Option(help="Apply the per-address limit to loopback too.")
    ] = False,
    login_timeout: Annotated[
        float, typer.Option(min=1, help="Seconds a connection may take to log in.")
    ] = 30.0,
    tls_handshake_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds from accept to a finished TLS handshake.")
    ] = 10.0,
    frame_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a frame may take to arrive whole.")
    ] = 30.0,
    user_request_rate: Annotated[
        float,
        typer.Option(min=0, help="Requests a second per user over all connections (0: no limit)."),
    ] = 20.0,
    user_request_burst: Annotated[
        int, typer.Option(min=1, help="Requests a user may send at once.")
    ] = 60,
    login_failures_per_user: Annotated[
        int, typer.Option(min=1, help="Login attempts failed (a minute) or running, per account.")
    ] = 5,
    login_failures_per_ip: Annotated[
        int, typer.Option(min=1, help="The same, per address (docs/security.md).")
    ] = 20,
    hash_workers: Annotated[
        int, typer.Option(min=0, help="Passwords hashed at once (0: one per core).")
    ] = 0,
    hash_queue: Annotated[
        int, typer.Option(min=0, help="Password checks that may wait for a worker.")
    ] = 32,
    registration: Annotated[
        Registration,
        typer.Option(help="open: anyone may register; closed: accounts come from the console."),
    ] = Registration.OPEN,
    registrations_per_ip: Annotated[
        int, typer.Option(min=1, help="Accounts an hour from one address (loopback exempt).")
    ] = 5,
    admin_socket: Annotated[
        str,
        typer.Option(help="The admin socket's path (default: in the state folder), or none."),
    ] = "",
    reserved_names: Annotated[
        str,
        typer.Option(help="Comma-separated user names nobody may register (and look-alikes)."),
    ] = ",".join(DEFAULT_RESERVED_NAMES),
    argon2_time_cost: Annotated[int, typer.Option(min=1, help="argon2id passes.")] = 3,
    argon2_memory_kib: Annotated[int, typer.Option(min=8, help="argon2id memory in KiB.")] = 65536,
    argon2_parallelism: Annotated[int, typer.Option(min=1, help="argon2id lanes.")] = 4,
) -> None:
    """Run the chat server (embedded SQLite unless --db names a MySQL server)."""
    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        raise typer.BadParameter(f"unknown log level {log_level!r}", param_hint="--log-level")
    configure_logging(level)
    config = ServerConfig(
        address=address,
        port=port,
        db=db,
        db_timeout=db_timeout,
        tls_cert=str(tls_cert) if tls_cert else None,
        tls_key=str(tls_key) if tls_key else None,
        max_frame=max_frame,
        outbound_buffer=outbound_buffer,
        request_rate=request_rate,
        request_burst=request_burst,
        max_connections=max_connections,
        max_connections_per_ip=max_connections_per_ip,
        limit_loopback=limit_loopback,
        login_timeout=login_timeout,
        tls_handshake_timeout=tls_handshake_timeout,
        frame_timeout=frame_timeout,
        user_request_rate=user_request_rate,
        user_request_burst=user_request_burst,
        login_failures_per_user=login_failures_per_user,
        login_failures_per_ip=login_failures_per_ip,
        hash_workers=hash_workers,
        hash_queue=hash_queue,
        registration=registration,
        registrations_per_ip=registrations_per_ip,
        admin_socket=admin_socket,
        reserved_names=tuple(name.strip() for name in reserved_names.split(",") if name.strip()),
        argon2=Argon2Params(argon2_time_cost, argon2_memory_kib, argon2_parallelism),
    )
    interactive = not no_console and sys.stdin.isatty() and sys.stdout.isatty()
    try:
        _run(_serve(config, interactive))
    except ServerStartError as error:
        typer.echo(f"chat-server: {error}", err=True)
        raise typer.Exit(1) from None


class ServerStartError(Exception):
    """The server could not start; the message says why in plain words."""


async def _serve(config: ServerConfig, interactive: bool) -> None:
    try:
        if "://" not in config.database and not config.database.startswith("mysql:"):
            Path(config.database).parent.mkdir(parents=True, exist_ok=True)
        server = ChatServer(config)
    except (ValueError, OSError, ssl.SSLError) as error:
        raise ServerStartError(f"bad configuration: {error}") from None
    # Signals are caught from before the server listens, so none can slip through
    # between the "listening" line and the handlers.
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_requested.set)
    try:
        await server.start()
    except StoreError as error:
        raise ServerStartError(f"cannot open the database: {error}") from None
    except ControlSocketError as error:
        raise ServerStartError(f"admin socket: {error}") from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ServerStartError(
                f"port {config.port} on {config.address} is already in use "
                "(another chat-server?); choose another with --port"
            ) from None
        raise ServerStartError(
            f"cannot listen on {config.address}:{config.port}: {error}"
        ) from None
    watcher = asyncio.create_task(_stop_on_signal(server, stop_requested))
    if interactive:
        from chat_srv.console.shell import run_console

        await run_console(server)
    else:
        await server.serve_forever()
    await watcher


async def _stop_on_signal(server: ChatServer, requested: asyncio.Event) -> None:
    """Stop the server on SIGINT/SIGTERM, or end quietly when it stopped otherwise."""
    stopped = asyncio.create_task(server.stopped.wait())
    signalled = asyncio.create_task(requested.wait())
    await asyncio.wait({stopped, signalled}, return_when=asyncio.FIRST_COMPLETED)
    signalled.cancel()
    stopped.cancel()
    await server.stop()


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run with uvloop when it is installed."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)


def main() -> None:
    """Entry point of the `chat-server` script."""
    app()
