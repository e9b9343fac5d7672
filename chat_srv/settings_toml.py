"""Settings written back as a TOML file: what `chat-server --print-config` prints.

`to_toml` writes every key, so the output read back with `--config` gives the same
settings; the one exception is a password (in a `mysql://` URL), shown as `MASK`
and named in a comment at the top.
"""

from __future__ import annotations

from typing import Final

from chat_srv.config import default_admin_socket, default_db_path
from chat_srv.settings import KEYS, RULES, Loaded

MASK: Final = "***"
"""What `to_toml` shows in place of a password."""


def mask_secret(url: str) -> str:
    """`url` with the password of its `scheme://user:password@host` part shown as `MASK`.

    Everything from the first `:` after the user to the last `@` is masked, so a
    password holding an unencoded `/`, `?` or `@` is hidden too.
    """
    scheme, sep, rest = url.partition("://")
    userinfo, at, after = rest.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    if not (sep and at and colon):
        return url
    return f"{scheme}{sep}{user}:{MASK}@{after}"


def _empty_means() -> dict[str, str]:
    """What an empty value stands for, shown beside it."""
    return {
        "db": f"the SQLite file {default_db_path()}",
        "log_file": "standard error",
        "tls_cert": "plain TCP, no TLS",
        "tls_key": "plain TCP, no TLS",
        "admin_socket": f"{default_admin_socket()}",
        "metrics": "no metrics",
    }


def to_toml(loaded: Loaded) -> str:
    """The settings as a TOML file for `--config`: every key, secrets masked.

    A comment at the top names the masked keys. A comment after a value says where
    it came from when it is not the default, or what an empty value stands for.
    """
    settings, empty_means = loaded.settings, _empty_means()
    shown = {key: getattr(settings, key) for key in KEYS}
    masked = [key for key in KEYS if RULES[key].secret and mask_secret(shown[key]) != shown[key]]
    lines = ["# The effective configuration of chat-server (--print-config), for --config."]
    if masked:
        lines.append(
            f"# Masked: {', '.join(masked)} (the password is shown as {MASK}; "
            "put it back before using this file)."
        )
    else:
        lines.append("# Masked: nothing (no key holds a password).")
    for key in KEYS:
        value = mask_secret(shown[key]) if key in masked else shown[key]
        note = loaded.origins.get(key)
        if note is not None:
            note = f"from {note}"
        elif value == "" and key in empty_means:
            note = f'"" means {empty_means[key]}'
        comment = f"  # {_escaped(note, quotes=False)}" if note else ""
        if isinstance(value, tuple):
            items = "".join(f"  {_string(item)},\n" for item in value)
            lines.append(f"{key} = [{comment}\n{items}]" if items else f"{key} = []{comment}")
        else:
            lines.append(f"{key} = {_scalar(value)}{comment}")
    return "\n".join(lines) + "\n"


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # finite: `load` refuses inf and nan
    assert isinstance(value, str)
    return _string(value)


def _escaped(text: str, *, quotes: bool = True) -> str:
    """`text` with what a TOML string (or with `quotes=False`, a comment) may not hold escaped."""
    out: list[str] = []
    for char in text:
        if quotes and char in '"\\':
            out.append("\\" + char)
        elif char == "\t" or (char >= " " and char != "\x7f"):
            out.append(char)
        else:
            out.append(f"\\u{ord(char):04x}")
    return "".join(out)


def _string(text: str) -> str:
    return f'"{_escaped(text)}"'
