"""Settings from a file, the environment and options: precedence, checks, TOML written back."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from chat_srv.config import Argon2Params, Registration, ServerConfig, default_admin_socket
from chat_srv.settings import KEYS, Loaded, Settings, SettingsError, admin_socket_path, load
from chat_srv.settings_toml import MASK, mask_secret, to_toml

DEFAULTS = Settings()

EVERY_KEY_CHANGED: dict[str, Any] = {
    "address": "::1",
    "port": 9100,
    "db": "/srv/chat/chat.db",
    "db_timeout": 2.5,
    "log_level": "debug",
    "log_format": "json",
    # Every character a TOML string must escape, and a few it need not.
    "log_file": '/var/log/we"ird\\dir\t\x7f\x00\n/Général ✓.log',
    "no_console": True,
    "tls_cert": "/etc/chat/cert.pem",
    "tls_key": "/etc/chat/key.pem",
    "max_frame": 2048,
    "outbound_buffer": 65536,
    "request_rate": 0.5,
    "request_burst": 3,
    "max_connections": 100,
    "max_connections_per_ip": 4,
    "limit_loopback": True,
    "login_timeout": 12.0,
    "tls_handshake_timeout": 0.25,
    "frame_timeout": 1e-1,
    "user_request_rate": 1e6,
    "user_request_burst": 7,
    "login_failures_per_user": 2,
    "login_failures_per_ip": 9,
    "hash_workers": 2,
    "hash_queue": 0,
    "registration": "closed",
    "registrations_per_ip": 1,
    "token_days": 7,
    "cluster": "redis://127.0.0.1:6390/0",
    "node_id": "node-1",
    "reserved_names": ("boss", "Chef"),
    "argon2_time_cost": 1,
    "argon2_memory_kib": 64,
    "argon2_parallelism": 1,
    "admin_socket": "/run/chat/admin.sock",
    "metrics": "[::1]:9200",
}


def _file(tmp_path: Path, text: str, name: str = "chat.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(SettingsError) as raised:
        load(file=_file(tmp_path, text), environ={})
    return str(raised.value)


def _refused_variable(name: str, value: str) -> str:
    with pytest.raises(SettingsError) as raised:
        load(environ={name: value})
    return str(raised.value)


# -- precedence --------------------------------------------------------------------------


def test_options_beat_variables_beat_the_file_beats_the_defaults(tmp_path: Path) -> None:
    file = _file(
        tmp_path,
        'port = 1001\nrequest_burst = 11\nhash_queue = 7\nlog_level = "debug"\n'
        'reserved_names = ["boss"]\n',
    )
    environ = {"CHAT_PORT": "2002", "CHAT_REQUEST_BURST": "22", "CHAT_RESERVED_NAMES": "a, b,"}
    loaded = load(file=file, environ=environ, options={"port": 3003})
    settings = loaded.settings
    assert settings.port == 3003  # option over variable over file
    assert settings.request_burst == 22  # variable over file
    assert settings.reserved_names == ("a", "b")  # variable over file
    assert (settings.hash_queue, settings.log_level) == (7, "debug")  # file over defaults
    assert settings.max_frame == DEFAULTS.max_frame  # defaults
    assert loaded.origins == {
        "port": "option --port",
        "request_burst": "environment variable CHAT_REQUEST_BURST",
        "reserved_names": "environment variable CHAT_RESERVED_NAMES",
        "hash_queue": f"config file {file}",
        "log_level": f"config file {file}",
    }
    config = settings.server_config()
    assert (config.port, config.request_burst, config.hash_queue) == (3003, 22, 7)
    assert config.reserved_names == ("a", "b")


def test_no_source_gives_the_servers_own_defaults() -> None:
    assert load(environ={}).settings.server_config() == ServerConfig()


def test_chat_db_still_names_the_database() -> None:
    loaded = load(environ={"CHAT_DB": "mysql://chat:pw@db.lan/chat"})
    assert loaded.settings.server_config().db == "mysql://chat:pw@db.lan/chat"


def test_every_key_reaches_the_server_config(tmp_path: Path) -> None:
    settings = Settings(**EVERY_KEY_CHANGED)
    config = settings.server_config()
    server_fields = {f.name for f in fields(ServerConfig)}
    for key in set(KEYS) & server_fields:
        if key not in ("tls_cert", "tls_key", "registration"):
            assert getattr(config, key) == EVERY_KEY_CHANGED[key], key
    assert (config.tls_cert, config.tls_key) == ("/etc/chat/cert.pem", "/etc/chat/key.pem")
    assert config.registration is Registration.CLOSED
    assert config.argon2 == Argon2Params(1, 64, 1)
    assert (DEFAULTS.server_config().tls_cert, DEFAULTS.server_config().tls_key) == (None, None)


def test_values_are_read_as_their_types() -> None:
    environ = {
        "CHAT_LIMIT_LOOPBACK": "Yes",
        "CHAT_NO_CONSOLE": "0",
        "CHAT_REQUEST_RATE": "3",
        "CHAT_LOG_LEVEL": "WARNING",
        "CHAT_TEST_MYSQL": "mysql://root@127.0.0.1/test",  # the test suite's own: ignored
        "CHAT_CONFIG": "/nowhere.toml",  # the file's path, read by the command line
        "PATH": "/bin",
    }
    settings = load(environ=environ).settings
    assert settings.limit_loopback is True
    assert settings.no_console is False
    assert settings.request_rate == 3.0
    assert isinstance(settings.request_rate, float)
    assert settings.log_level == "warning"


def test_an_integer_is_a_number_of_seconds_in_the_file(tmp_path: Path) -> None:
    settings = load(file=_file(tmp_path, "login_timeout = 45\n"), environ={}).settings
    assert settings.login_timeout == 45.0
    assert isinstance(settings.login_timeout, float)


def test_the_admin_socket_path() -> None:
    assert admin_socket_path("none") is None
    assert admin_socket_path("/run/chat/admin.sock") == Path("/run/chat/admin.sock")
    assert admin_socket_path("") == default_admin_socket()


# -- refusals ----------------------------------------------------------------------------


def test_an_unknown_key_in_the_file_is_refused_by_name(tmp_path: Path) -> None:
    message = _refused(tmp_path, "prot = 7878\n")
    assert (
        message == f"config file {tmp_path / 'chat.toml'}: unknown key 'prot' (did you mean port?)"
    )
    assert "unknown key 'server'" in _refused(tmp_path, "[server]\nport = 1\n")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('port = "7878"', "key port: expected an integer, got a string '7878'"),
        ("port = 7878.0", "key port: expected an integer, got a float 7878.0"),
        ("no_console = 1", "key no_console: expected true or false, got an integer 1"),
        ("request_rate = true", "key request_rate: expected a number, got a boolean True"),
        ('reserved_names = "admin"', "key reserved_names: expected an array of strings"),
        ("reserved_names = [1, 2]", "key reserved_names: expected an array of strings"),
        ("address = 127", "key address: expected a string, got an integer 127"),
        ("db = 1979-05-27", "key db: expected a string, got a date or time"),
        ("tls_cert = {path = 'x'}", "key tls_cert: expected a string, got a table"),
        ("port = 70000", "key port: 70000 is out of range (from 0 to 65535)"),
        ("max_frame = 16", "key max_frame: 16 is out of range (from 1024 to 16777216)"),
        ("hash_queue = -1", "key hash_queue: -1 is out of range (at least 0)"),
        ("login_timeout = nan", "key login_timeout: expected a finite number, got nan"),
        ('log_level = "loud"', "key log_level: expected one of debug, info, warning"),
        ('registration = "invite"', "key registration: expected one of open, closed"),
        ('metrics = "9100"', "key metrics: expected ADDRESS:PORT"),
    ],
)
def test_a_wrong_value_in_the_file_is_refused_naming_the_key(
    tmp_path: Path, text: str, problem: str
) -> None:
    message = _refused(tmp_path, text + "\n")
    assert message.startswith(f"config file {tmp_path / 'chat.toml'}, {problem}"), message


def test_a_file_that_cannot_be_read_or_parsed_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(SettingsError, match=r"missing\.toml: cannot read it: No such file"):
        load(file=missing, environ={})
    assert "not valid TOML" in _refused(tmp_path, "port = \n")
    (tmp_path / "latin1.toml").write_bytes(b'address = "caf\xe9"\n')
    with pytest.raises(SettingsError, match=r"latin1\.toml: not valid TOML"):
        load(file=tmp_path / "latin1.toml", environ={})


def test_an_unknown_variable_is_refused_by_name() -> None:
    assert _refused_variable("CHAT_PROT", "7878") == (
        "environment variable CHAT_PROT: no such setting (did you mean CHAT_PORT?)"
    )
    assert "did you mean CHAT_PORT?" in _refused_variable("CHAT_port", "7878")
    assert "CHAT_COLOUR: no such setting" in _refused_variable("CHAT_COLOUR", "1")


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("CHAT_PORT", "seven", "expected an integer, got 'seven'"),
        ("CHAT_PORT", "", "expected an integer, got ''"),
        ("CHAT_PORT", "-1", "-1 is out of range (from 0 to 65535)"),
        ("CHAT_DB_TIMEOUT", "soon", "expected a number, got 'soon'"),
        ("CHAT_LOGIN_TIMEOUT", "inf", "expected a finite number, got inf"),
        ("CHAT_NO_CONSOLE", "maybe", "expected true or false (or 1/0, yes/no, on/off)"),
        ("CHAT_LOG_FORMAT", "xml", "expected one of text, json, got 'xml'"),
        ("CHAT_METRICS", "localhost:http", "expected ADDRESS:PORT"),
    ],
)
def test_a_wrong_value_in_a_variable_is_refused_naming_it(
    name: str, value: str, problem: str
) -> None:
    message = _refused_variable(name, value)
    assert message.startswith(f"environment variable {name}: {problem}"), message


def test_an_option_out_of_range_is_refused_naming_it() -> None:
    with pytest.raises(SettingsError, match=r"^option --request-burst: 0 is out of range"):
        load(environ={}, options={"request_burst": 0})


# -- written back as TOML ----------------------------------------------------------------


def test_every_key_survives_the_round_trip(tmp_path: Path) -> None:
    source = Loaded(Settings(**EVERY_KEY_CHANGED), {})
    text = to_toml(source)
    assert tomllib.loads(text).keys() == set(KEYS)
    again = load(file=_file(tmp_path, text), environ={})
    assert again.settings == source.settings
    assert to_toml(Loaded(again.settings, {})) == text


def test_the_defaults_survive_the_round_trip(tmp_path: Path) -> None:
    text = to_toml(load(environ={}))
    assert "# Masked: nothing" in text.splitlines()[1]
    assert load(file=_file(tmp_path, text), environ={}).settings == DEFAULTS


def test_comments_say_where_a_value_came_from(tmp_path: Path) -> None:
    file = _file(tmp_path, "hash_queue = 7\n")
    text = to_toml(load(file=file, environ={"CHAT_PORT": "2002"}, options={"hash_workers": 3}))
    lines = text.splitlines()
    assert "port = 2002  # from environment variable CHAT_PORT" in lines
    assert f"hash_queue = 7  # from config file {file}" in lines
    assert "hash_workers = 3  # from option --hash-workers" in lines
    assert 'metrics = ""  # "" means no metrics' in lines


def test_the_mysql_password_is_masked(tmp_path: Path) -> None:
    loaded = load(environ={"CHAT_DB": "mysql://chat:s3cret@db.lan:3306/chat"})
    text = to_toml(loaded)
    assert "s3cret" not in text
    assert text.splitlines()[1].startswith("# Masked: db (the password is shown as ***;")
    parsed = tomllib.loads(text)
    assert parsed["db"] == f"mysql://chat:{MASK}@db.lan:3306/chat"
    # Everything else is as it was.
    again = load(file=_file(tmp_path, text), environ={}).settings
    assert again == Settings(db=parsed["db"])


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql://chat:pw@db/chat", "mysql://chat:***@db/chat"),
        ("mysql://chat:p%40ss@db:3306/chat", "mysql://chat:***@db:3306/chat"),
        ("mysql://chat:p@ss/w:rd@db/chat", "mysql://chat:***@db/chat"),  # not encoded
        ("mysql://chat:@db/chat", "mysql://chat:***@db/chat"),
        ("mysql://chat@db/chat", "mysql://chat@db/chat"),  # no password to hide
        ("mysql://db/chat", "mysql://db/chat"),
        ("/srv/chat/chat.db", "/srv/chat/chat.db"),
        ("/srv/user:name@host/chat.db", "/srv/user:name@host/chat.db"),
    ],
)
def test_mask_secret(url: str, shown: str) -> None:
    assert mask_secret(url) == shown
