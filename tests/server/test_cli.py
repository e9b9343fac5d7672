"""The `chat-server` command line: options over variables over the file, subcommands, help."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import types
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv import cli
from chat_srv.settings import FOREIGN_PREFIXES, KEYS, Settings, load
from tests.helpers import PASSWORD, Client
from tests.server.process import server_process

SERVER = [sys.executable, "-c", "from chat_srv.cli import main; main()"]
ACTIONS = {"config", "print_config", "show_version"}
"""The group's parameters that are not settings."""

Calls = list[tuple[str, Path, str]]


@pytest.fixture(autouse=True)
def environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CHAT_* variable from outside the test, and platformdirs' folders under tmp_path."""
    for name in list(os.environ):
        if name.startswith("CHAT_") and not name.startswith(FOREIGN_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """A stand-in for `chat_srv.remote`: records what the subcommands ask of it."""
    calls: Calls = []

    def run_command(socket_path: Path, line: str) -> int:
        calls.append(("command", socket_path, line))
        return 3

    def run_console(socket_path: Path) -> int:
        calls.append(("console", socket_path, ""))
        return 0

    fake = types.ModuleType("chat_srv.remote")
    vars(fake).update(run_command=run_command, run_console=run_console)
    monkeypatch.setitem(sys.modules, "chat_srv.remote", fake)
    return calls


def _invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.app, list(args), env=env, prog_name="chat-server")


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "chat.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _default_socket(tmp_path: Path) -> Path:
    return tmp_path / "state" / "chat-server" / "admin.sock"


# -- settings through the command line ----------------------------------------------------


def test_print_config_shows_options_over_variables_over_the_file(tmp_path: Path) -> None:
    config = _file(
        tmp_path, 'port = 1001\nrequest_burst = 11\nhash_queue = 7\nlog_level = "debug"\n'
    )
    env = {"CHAT_PORT": "2002", "CHAT_REQUEST_BURST": "22"}
    result = _invoke("--config", str(config), "-p", "3003", "--print-config", env=env)
    assert result.exit_code == 0, result.output
    shown = tomllib.loads(result.stdout)
    assert (shown["port"], shown["request_burst"], shown["hash_queue"]) == (3003, 22, 7)
    assert (shown["log_level"], shown["max_frame"]) == ("debug", Settings().max_frame)
    # Fed back, the output is the same configuration.
    again = load(file=_file(tmp_path, result.stdout), environ={})
    assert again.settings == load(file=config, environ=env, options={"port": 3003}).settings


def test_an_option_equal_to_its_default_still_beats_a_variable() -> None:
    result = _invoke("--port", "7878", "--print-config", env={"CHAT_PORT": "2002"})
    assert tomllib.loads(result.stdout)["port"] == 7878


def test_print_config_masks_the_password_and_round_trips(tmp_path: Path) -> None:
    env = {"CHAT_DB": "mysql://chat:s3cret@db.lan:3306/chat", "CHAT_CONFIG": ""}
    result = _invoke("--print-config", env=env)
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert "# Masked: db" in result.stdout.splitlines()[1]
    again = _invoke("--config", str(_file(tmp_path, result.stdout)), "--print-config")
    assert tomllib.loads(again.stdout) == tomllib.loads(result.stdout)


def test_config_comes_from_chat_config_too(tmp_path: Path) -> None:
    config = _file(tmp_path, "hash_queue = 7\n")
    result = _invoke("--print-config", env={"CHAT_CONFIG": str(config)})
    assert tomllib.loads(result.stdout)["hash_queue"] == 7


def test_a_bad_key_or_variable_stops_the_server_with_status_2(tmp_path: Path) -> None:
    config = _file(tmp_path, "max_conections_per_ip = 3\n")
    result = _invoke("--config", str(config))
    assert result.exit_code == 2
    assert result.stderr == (
        f"chat-server: config file {config}: unknown key 'max_conections_per_ip' "
        "(did you mean max_connections_per_ip?)\n"
    )
    result = _invoke("--print-config", env={"CHAT_MAX_CONNECTIONS_PER_IP": "many"})
    assert result.exit_code == 2
    assert result.stderr == (
        "chat-server: environment variable CHAT_MAX_CONNECTIONS_PER_IP: "
        "expected an integer, got 'many'\n"
    )
    result = _invoke("--port", "70000")
    assert (result.exit_code, result.stderr) == (
        2,
        "chat-server: option --port: 70000 is out of range (from 0 to 65535)\n",
    )


def test_every_key_is_an_option_with_the_same_default() -> None:
    command = typer.main.get_command(cli.app)
    params = {param.name: param for param in command.params}
    assert set(params) - {"help"} == set(KEYS) | ACTIONS
    defaults = Settings()
    for key in KEYS:
        default = getattr(defaults, key)
        if isinstance(default, tuple):
            default = ",".join(default)
        assert params[key].default == default, key


def test_version() -> None:
    result = _invoke("--version")
    assert (result.exit_code, result.stdout) == (0, f"chat-server {version('chat-suite')}\n")


# -- subcommands -------------------------------------------------------------------------


def test_admin_joins_its_words_into_one_line(remote: Calls, tmp_path: Path) -> None:
    result = _invoke("admin", "kick", "alice", "10m", "flooding")
    assert result.exit_code == 3, result.output  # run_command's status
    assert remote == [("command", _default_socket(tmp_path), "kick alice 10m flooding")]


def test_admin_after_a_double_dash_and_words_like_options(remote: Calls, tmp_path: Path) -> None:
    _invoke("admin", "--", "ban", "ip", "10.0.0.0/8", "spam")
    _invoke("admin", "notice", "--not-an-option", "-x")  # options end at the first word
    assert [line for _, _, line in remote] == [
        "ban ip 10.0.0.0/8 spam",
        "notice --not-an-option -x",
    ]


def test_admin_needs_a_command(remote: Calls) -> None:
    result = _invoke("admin")
    assert result.exit_code == 2
    assert "Missing argument" in result.output
    assert remote == []


def test_the_socket_is_found_like_the_servers_own(remote: Calls, tmp_path: Path) -> None:
    config = _file(tmp_path, 'admin_socket = "/from/file.sock"\n')
    _invoke("admin", "--socket", "/given.sock", "users")
    _invoke("--admin-socket", "/option.sock", "admin", "users", env={"CHAT_ADMIN_SOCKET": "/v"})
    _invoke("admin", "users", env={"CHAT_ADMIN_SOCKET": "/variable.sock"})
    _invoke("--config", str(config), "admin", "users")
    _invoke("admin", "--config", str(config), "users")
    _invoke("console")
    _invoke("console", "--socket", "/given.sock")
    assert [(kind, str(path)) for kind, path, _ in remote] == [
        ("command", "/given.sock"),
        ("command", "/option.sock"),
        ("command", "/variable.sock"),
        ("command", "/from/file.sock"),
        ("command", "/from/file.sock"),
        ("console", str(_default_socket(tmp_path))),
        ("console", "/given.sock"),
    ]


def test_a_socket_turned_off_is_refused(remote: Calls) -> None:
    result = _invoke("admin", "users", env={"CHAT_ADMIN_SOCKET": "none"})
    assert result.exit_code == 2
    assert "admin socket is turned off" in result.stderr
    assert "CHAT_ADMIN_SOCKET" in result.stderr
    assert remote == []


# -- the real command --------------------------------------------------------------------


def _run(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [*SERVER, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_help_at_80_columns_shows_every_option_whole() -> None:
    result = _run("--help")
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    command = typer.main.get_command(cli.app)
    names = [name for param in command.params for name in (*param.opts, *param.secondary_opts)]
    assert len(names) > len(KEYS)
    for name in names:
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", result.stdout), name
    commands = result.stdout.split("Commands:", 1)[1]
    assert re.search(r"^  admin +\S", commands, re.M)
    assert re.search(r"^  console +\S", commands, re.M)


def test_a_db_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "no" / "such" / "folder" / "chat.db"
    result = _run("--no-console", "--port", "0", "--db", str(db))
    assert result.returncode == 1
    assert result.stderr == (
        f"chat-server: the folder of the database file {db} does not exist; "
        "create it first, or choose another --db\n"
    )
    assert not (tmp_path / "no").exists()


async def test_the_default_data_directory_is_still_made(tmp_path: Path) -> None:
    async with server_process(""):  # --db "": the default file
        assert (tmp_path / "data" / "chat-server" / "chat.db").exists()


async def test_the_running_server_takes_file_variable_and_options(
    tmp_path: Path, db_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file alone would listen on a test-net address and port 1, and fail.
    config = _file(tmp_path, 'address = "192.0.2.1"\nport = 1\nregistration = "closed"\n')
    monkeypatch.setenv("CHAT_ADDRESS", "127.0.0.1")
    async with server_process(db_path, "--config", str(config)) as server:  # --port 0
        client = await Client.connect(server.port)
        try:
            refusal = await client.fails(m.Register, user="alice", password=PASSWORD)
        finally:
            await client.close()
    assert refusal.code == ErrorCode.FORBIDDEN
