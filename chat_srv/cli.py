"""`chat-server`: the command line that starts the server, and its two subcommands.

`chat-server [OPTIONS]` runs the server, as it always has: the options belong to a
group whose callback serves when no subcommand follows. `chat-server admin
COMMAND...` and `chat-server console` reach a running server through its admin
socket (`chat_srv.remote`, imported only when they run).

Settings come from `chat_srv.settings`: an option typed here overrides a `CHAT_*`
variable, which overrides the `--config` file, which overrides the defaults. Exit
statuses: 0 done; 1 the server could not start (port in use, database, TLS files);
2 the configuration was refused (a bad option, key or variable), as typer does for
a bad option.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import ssl
import sys
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from chat_srv.config import Registration, ServerConfig
from chat_srv.control import ControlSocketError
from chat_srv.logs import LogFileError, configure_logging
from chat_srv.metrics_http import MetricsListenError
from chat_srv.server import ChatServer
from chat_srv.settings import (
    CONFIG_VARIABLE,
    KEYS,
    Loaded,
    Settings,
    SettingsError,
    admin_socket_path,
    load,
)
from chat_srv.settings_toml import to_toml
from chat_srv.store import StoreError

log = logging.getLogger("chat_srv")

DEFAULTS = Settings()
"""The defaults, shown by `--help`; `chat_srv.settings` applies them, not typer."""
_REGISTRATION = Registration(DEFAULTS.registration)

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help wraps texts and never cuts option names
    context_settings={"max_content_width": 100},
    invoke_without_command=True,
    subcommand_metavar="[COMMAND [ARGS]...]",
    epilog="Every option is also a key of the --config file and a CHAT_<OPTION> variable "
    "(docs/configuration.md): an option wins over a variable, a variable over the file.",
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"chat-server {version('chat-suite')}")
        raise typer.Exit()


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar=CONFIG_VARIABLE,
        dir_okay=False,
        help="A TOML file of settings; its keys are the options' names with _ for -.",
    ),
]
SocketOption = Annotated[
    Path | None,
    typer.Option(
        "--socket", help="The server's admin socket (default: as the server's --admin-socket)."
    ),
]


@dataclass(frozen=True, slots=True)
class _Outer:
    """What the options before a subcommand said, for its --socket default."""

    config: Path | None
    options: Mapping[str, object]


@app.callback()
def serve(
    ctx: typer.Context,
    config: ConfigOption = None,
    print_config: Annotated[
        bool,
        typer.Option(
            "--print-config", help="Print the settings as a --config file (TOML) and exit."
        ),
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Print the version and exit."
        ),
    ] = False,
    address: Annotated[str, typer.Option("--address", "-a", help="Address to listen on.")] = (
        DEFAULTS.address
    ),
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port to listen on (0-65535).")] = (
        DEFAULTS.port
    ),
    db: Annotated[
        str,
        typer.Option(
            metavar="<path|url>",
            help="SQLite file, or mysql://user:password@host:port/database. "
            "Default: chat.db in the user's data directory.",
            show_default=False,
        ),
    ] = DEFAULTS.db,
    db_timeout: Annotated[float, typer.Option(help="Seconds a MySQL operation may take.")] = (
        DEFAULTS.db_timeout
    ),
    log_level: Annotated[
        str, typer.Option(metavar="<level>", help="debug, info, warning, error or critical.")
    ] = DEFAULTS.log_level,
    log_format: Annotated[
        str, typer.Option(metavar="<text|json>", help="Log lines as text or JSON.")
    ] = DEFAULTS.log_format,
    log_file: Annotated[
        str,
        typer.Option(
            metavar="<path>", help="Append the log to this file too (besides standard error)."
        ),
    ] = DEFAULTS.log_file,
    no_console: Annotated[
        bool,
        typer.Option(
            "--no-console/--console",
            help="Run headless even in a terminal (--console: the console in a terminal, "
            "whatever the file or the environment says).",
            show_default=False,
        ),
    ] = DEFAULTS.no_console,
    tls_cert: Annotated[
        str, typer.Option(metavar="<path>", help="PEM certificate chain: serve TLS only.")
    ] = DEFAULTS.tls_cert,
    tls_key: Annotated[
        str, typer.Option(metavar="<path>", help="The certificate's private key.")
    ] = DEFAULTS.tls_key,
    max_frame: Annotated[
        int, typer.Option(help="Largest frame from a client (1024-16777216).")
    ] = DEFAULTS.max_frame,
    outbound_buffer: Annotated[
        int, typer.Option(help="Bytes queued to a client before it is dropped as slow.")
    ] = DEFAULTS.outbound_buffer,
    request_rate: Annotated[
        float, typer.Option(help="Requests a second per connection (0: no limit, benchmarks).")
    ] = DEFAULTS.request_rate,
    request_burst: Annotated[
        int, typer.Option(help="Requests a connection may send at once.")
    ] = DEFAULTS.request_burst,
    max_connections: Annotated[int, typer.Option(help="Open connections in all.")] = (
        DEFAULTS.max_connections
    ),
    max_connections_per_ip: Annotated[
        int, typer.Option(help="Open connections from one address.")
    ] = DEFAULTS.max_connections_per_ip,
    limit_loopback: Annotated[
        bool, typer.Option(help="Apply the per-address limit to loopback too.")
    ] = DEFAULTS.limit_loopback,
    login_timeout: Annotated[
        float, typer.Option(help="Seconds a connection may take to log in.")
    ] = DEFAULTS.login_timeout,
    tls_handshake_timeout: Annotated[
        float, typer.Option(help="Seconds from accept to a finished TLS handshake.")
    ] = DEFAULTS.tls_handshake_timeout,
    frame_timeout: Annotated[
        float, typer.Option(help="Seconds a frame may take to arrive whole.")
    ] = DEFAULTS.frame_timeout,
    user_request_rate: Annotated[
        float, typer.Option(help="Requests a second per user over all connections (0: no limit).")
    ] = DEFAULTS.user_request_rate,
    user_request_burst: Annotated[
        int, typer.Option(help="Requests a user may send at once.")
    ] = DEFAULTS.user_request_burst,
    login_failures_per_user: Annotated[
        int, typer.Option(help="Login attempts failed (a minute) or running, per account.")
    ] = DEFAULTS.login_failures_per_user,
    login_failures_per_ip: Annotated[
        int, typer.Option(help="The same, per address (docs/security.md).")
    ] = DEFAULTS.login_failures_per_ip,
    hash_workers: Annotated[
        int, typer.Option(help="Passwords hashed at once (0: one per core).")
    ] = DEFAULTS.hash_workers,
    hash_queue: Annotated[
        int, typer.Option(help="Password checks that may wait for a worker.")
    ] = DEFAULTS.hash_queue,
    registration: Annotated[
        Registration,
        typer.Option(help="open: anyone may register; closed: accounts come from the console."),
    ] = _REGISTRATION,
    registrations_per_ip: Annotated[
        int, typer.Option(help="Accounts an hour from one address (loopback exempt).")
    ] = DEFAULTS.registrations_per_ip,
    reserved_names: Annotated[
        str,
        typer.Option(
            metavar="<names>",
            help="Comma-separated user names nobody may register (and look-alikes). "
            "Default: admin, root, all, staff and more (--print-config lists them).",
            show_default=False,
        ),
    ] = ",".join(DEFAULTS.reserved_names),
    token_days: Annotated[
        int, typer.Option(help="Days a session token lasts unused (login without password).")
    ] = DEFAULTS.token_days,
    argon2_time_cost: Annotated[
        int, typer.Option(help="argon2id passes.")
    ] = DEFAULTS.argon2_time_cost,
    argon2_memory_kib: Annotated[int, typer.Option(help="argon2id memory in KiB.")] = (
        DEFAULTS.argon2_memory_kib
    ),
    argon2_parallelism: Annotated[int, typer.Option(help="argon2id lanes.")] = (
        DEFAULTS.argon2_parallelism
    ),
    admin_socket: Annotated[
        str,
        typer.Option(
            metavar="<path>",
            help="The admin socket for chat-server admin and console (none: no socket). "
            "Default: admin.sock in the user's state directory.",
            show_default=False,
        ),
    ] = DEFAULTS.admin_socket,
    metrics: Annotated[
        str,
        typer.Option(
            metavar="<address:port>",
            help="Serve Prometheus metrics there (default: off).",
            show_default=False,
        ),
    ] = DEFAULTS.metrics,
    cluster: Annotated[
        str,
        typer.Option(
            metavar="<redis://host:port/db>",
            help="Run as one node of several sharing the MySQL database (default: alone).",
            show_default=False,
        ),
    ] = DEFAULTS.cluster,
    node_id: Annotated[
        str,
        typer.Option(
            metavar="<name>",
            help="This node's name in the cluster (default: hostname:port).",
            show_default=False,
        ),
    ] = DEFAULTS.node_id,
) -> None:
    """Run the chat server (embedded SQLite unless --db names a MySQL server)."""
    # The parameters only declare the options: their values are read from ctx.params
    # with their source, so an option left out never hides a variable or the file.
    options = {
        name: value for name, value in ctx.params.items() if name in KEYS and _typed(ctx, name)
    }
    if ctx.invoked_subcommand is not None:
        ctx.obj = _Outer(config, options)
        return
    loaded = _load(config, options)
    if print_config:
        typer.echo(to_toml(loaded), nl=False)
        raise typer.Exit()
    _start(loaded.settings)


@app.command(context_settings={"allow_interspersed_args": False})
def admin(
    ctx: typer.Context,
    command: Annotated[
        list[str],
        typer.Argument(
            metavar="COMMAND",
            help="A console command and its arguments: kick alice 10m flooding. "
            "Put -- before one that starts with a dash.",
            show_default=False,
        ),
    ],
    socket: SocketOption = None,
    config: ConfigOption = None,
) -> None:
    """Run a console command on the running server.

    The words are joined with spaces into one console line, sent through the
    server's admin socket; the exit status says whether the command succeeded.
    """
    path = _admin_socket(ctx, socket, config)
    # Imported here: the server's own start-up needs none of the client side.
    from chat_srv.remote import run_command

    raise typer.Exit(run_command(path, " ".join(command)))


@app.command()
def console(ctx: typer.Context, socket: SocketOption = None, config: ConfigOption = None) -> None:
    """Open the running server's console.

    The same commands as the console in the server's terminal, through its admin
    socket.
    """
    path = _admin_socket(ctx, socket, config)
    from chat_srv.remote import run_console

    raise typer.Exit(run_console(path))


def _typed(ctx: typer.Context, name: str) -> bool:
    """Whether option `name` was given on the command line (not left at its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _refuse(message: str) -> NoReturn:
    """Stop before anything starts: the configuration is wrong (status 2, as typer's)."""
    typer.echo(f"chat-server: {message}", err=True)
    raise typer.Exit(2)


def _load(config: Path | None, options: Mapping[str, object]) -> Loaded:
    try:
        return load(file=config, options=options)
    except SettingsError as error:
        _refuse(str(error))


def _admin_socket(ctx: typer.Context, socket: Path | None, config: Path | None) -> Path:
    """`--socket`, else the admin socket the server's own settings name."""
    if socket is not None:
        return socket
    outer = ctx.find_object(_Outer) or _Outer(None, {})
    loaded = _load(config or outer.config, outer.options)
    path = admin_socket_path(loaded.settings.admin_socket)
    if path is None:
        where = loaded.origins.get("admin_socket", "the settings")
        _refuse(
            f"the admin socket is turned off (admin_socket = none, from {where}); give --socket"
        )
    return path


def _start(settings: Settings) -> None:
    """Run the server with `settings` until it stops."""
    try:
        configure_logging(
            getattr(logging, settings.log_level.upper()),
            log_format=settings.log_format,
            log_file=Path(settings.log_file) if settings.log_file else None,
        )
    except LogFileError as error:
        typer.echo(f"chat-server: {error}", err=True)
        raise typer.Exit(1) from None
    interactive = not settings.no_console and sys.stdin.isatty() and sys.stdout.isatty()
    try:
        _run(_serve(settings.server_config(), interactive))
    except ServerStartError as error:
        typer.echo(f"chat-server: {error}", err=True)
        raise typer.Exit(1) from None


class ServerStartError(Exception):
    """The server could not start; the message says why in plain words."""


async def _serve(config: ServerConfig, interactive: bool) -> None:
    _database_folder(config)
    try:
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
    except MetricsListenError as error:
        raise ServerStartError(str(error)) from None
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


def _database_folder(config: ServerConfig) -> None:
    """Make the default data directory; refuse a --db file whose folder is missing.

    A typo in a path given by hand should not quietly make folders and an empty
    database somewhere unexpected.
    """
    database = config.database
    if "://" in database or database.startswith("mysql:"):
        return
    folder = Path(database).parent
    if not config.db:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ServerStartError(f"cannot make the data directory {folder}: {error}") from None
    elif not folder.is_dir():
        raise ServerStartError(
            f"the folder of the database file {database} does not exist; "
            "create it first, or choose another --db"
        )


async def _stop_on_signal(server: ChatServer, requested: asyncio.Event) -> None:
    """Stop the server on SIGINT/SIGTERM, or end quietly when it stopped otherwise."""
    stopped = asyncio.create_task(server.stopped.wait())
    signalled = asyncio.create_task(requested.wait())
    await asyncio.wait({stopped, signalled}, return_when=asyncio.FIRST_COMPLETED)
    signalled.cancel()
    stopped.cancel()
    await server.stop()


GIL_SWITCH_INTERVAL = 0.001  # seconds; Python's default is 0.005


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run with uvloop when it is installed.

    The database thread (SQLite's, through aiosqlite) lets go of the GIL while SQLite
    works and waits to take it back after each statement; while the event loop runs
    Python, that wait lasts until the switch interval asks the loop to let go. A
    shorter interval costs the loop only when that thread is waiting, and makes each
    batch of messages stored sooner (benchmarks/RESULTS.md, "Small rooms").
    """
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
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
    app(prog_name="chat-server")
