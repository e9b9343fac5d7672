"""The `chat-tui` command line: options, defaults from the last session, TLS flags."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chat_tui import cli, config
from chat_tui.app import ChatApp
from chat_tui.config import LastUsed, Settings

Started = dict[str, Any]


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Started:
    """Run the command without starting the app; what it would have started."""
    seen: Started = {}
    monkeypatch.setattr(config, "default_path", lambda: tmp_path / "client.json")

    def run(self: ChatApp, **_: Any) -> None:
        seen.update(host=self.host, port=self.port, user=self.user, app=self)

    monkeypatch.setattr(ChatApp, "run", run)
    return seen


def test_defaults_come_from_the_last_session(started: Started, tmp_path: Path) -> None:
    Settings(tmp_path / "client.json").save(LastUsed(host="chat.lan", port=9000, user="alice"))
    result = CliRunner().invoke(cli.cli, [])
    assert result.exit_code == 0, result.output
    assert (started["host"], started["port"], started["user"]) == ("chat.lan", 9000, "alice")
    result = CliRunner().invoke(cli.cli, ["--host", "other", "--user", "bob"])
    assert (started["host"], started["port"], started["user"]) == ("other", 7878, "bob")


def test_insecure_warns_loudly(started: Started) -> None:
    result = CliRunner().invoke(cli.cli, ["--insecure"])
    assert result.exit_code == 0
    assert "WARNING: --insecure turns off TLS certificate checks" in result.output


def test_no_password_option(started: Started) -> None:
    result = CliRunner().invoke(cli.cli, ["--password", "secret"])
    assert result.exit_code != 0
    assert started == {}


def test_version(started: Started) -> None:
    result = CliRunner().invoke(cli.cli, ["--version"])
    assert (result.exit_code, result.output) == (0, f"chat-tui {version('chat-suite')}\n")
    assert started == {}
