"""App-wide Textual messages: what the reader worker and the screens tell the app.

A widget's own messages live in its class; these cross screens.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from chat_core import messages as m
from chat_tui.client import ChatClient


@dataclass
class ServerEvent(Message):
    """An event arrived from the server on `client`."""

    client: ChatClient
    event: m.Event


@dataclass
class ConnectionLost(Message):
    """The reader loop of `client` ended: the connection is gone."""

    client: ChatClient


@dataclass
class LoginRequested(Message):
    """The user asked to log in (or register) with these details."""

    host: str
    port: int
    user: str
    password: str
    register: bool


@dataclass
class LogoutRequested(Message):
    """The session is over: back to the login screen with `error` shown."""

    error: str = ""
