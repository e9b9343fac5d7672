"""The `chat-tui` command: options, TLS, then the app.

The password is never an option: it is typed on the login screen and kept in
memory only. Without `--host` and `--port`, the server is the last one used (saved in
the user's configuration directory), else 127.0.0.1:7878; the user name too.
"""

from __future__ import annotations

import ssl
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import typer

from chat_tui import DEFAULT_PORT
from chat_tui.config import DEFAULT_HOST, Preferences, Settings

cli = typer.Typer(add_completion=False, help="The chat suite's terminal client.")

HOST_HELP = "Server address (default: the last one used, else 127.0.0.1)"
PORT_HELP = "Server port (default: the last one used, else 7878)"
USER_HELP = "User name to prefill (default: the last one used)"
INSECURE_WARNING = (
    "WARNING: --insecure turns off TLS certificate checks. Anyone between you and the "
    "server can read your password and your messages. Use it only to test."
)


def ssl_context(*, tls: bool, ca: Path | None, insecure: bool) -> ssl.SSLContext | None:
    """The TLS context the options ask for (None: plain TCP).

    `--ca` and `--insecure` imply `--tls`.
    """
    if not (tls or ca is not None or insecure):
        return None
    context = ssl.create_default_context(cafile=str(ca) if ca is not None else None)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"chat-tui {version('chat-suite')}")
        raise typer.Exit()


@cli.command()
def run(
    host: Annotated[str | None, typer.Option(help=HOST_HELP)] = None,
    port: Annotated[int | None, typer.Option(help=PORT_HELP)] = None,
    user: Annotated[str | None, typer.Option(help=USER_HELP)] = None,
    tls: Annotated[bool, typer.Option("--tls", help="Connect with TLS")] = False,
    ca: Annotated[
        Path | None,
        typer.Option(help="CA certificate file to trust (implies --tls)", exists=True),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="TLS without checking the certificate")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """Log in to a chat server and chat."""
    from chat_tui.app import ChatApp  # Textual loads only when the app runs
    from chat_tui.keys import binding_ids

    if insecure:
        typer.secho(INSECURE_WARNING, fg=typer.colors.RED, bold=True, err=True)
    settings = Settings()
    last = settings.load()
    try:
        preferences = settings.preferences(actions=binding_ids())
    except ValueError as error:
        typer.secho(f"{error}; using the default settings", fg=typer.colors.YELLOW, err=True)
        preferences = Preferences()
    if host is None and port is None:
        host, port = last.host, last.port
    app = ChatApp(
        host=host if host is not None else DEFAULT_HOST,
        port=port if port is not None else DEFAULT_PORT,
        user=user if user is not None else last.user,
        ssl_context=ssl_context(tls=tls, ca=ca, insecure=insecure),
        settings=settings,
        preferences=preferences,
    )
    app.run()
    sys.exit(app.return_code or 0)


def main() -> None:
    """Entry point of the `chat-tui` script."""
    cli()
