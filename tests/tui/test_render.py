"""What the client draws from the server's texts: hostile characters made visible,
ordinary scripts and emoji left alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.style import Style
from rich.text import Text

from chat_core import messages as m
from chat_srv.admin import Admin
from chat_srv.server import ChatServer
from chat_tui.render import ESCAPE_STYLE, links, message_text, plain, safe
from chat_tui.widgets.message_line import MessageLine
from chat_tui.widgets.sidebar import Sidebar
from chat_tui.widgets.status_bar import StatusBar
from chat_tui.widgets.user_list import UserList, user_entry
from tests.helpers import register
from tests.tui.helpers import drive, make_app, rendered

TS = int(datetime(2025, 6, 3, 9, 5, tzinfo=UTC).timestamp() * 1000)

HOSTILE = [
    pytest.param("invoice_\u202efdp.exe", "invoice_<U+202E>fdp.exe", id="right-to-left override"),
    pytest.param("pay\u200bpal", "pay<U+200B>pal", id="zero-width space"),
    pytest.param("\u200eok\u200f", "<U+200E>ok<U+200F>", id="marks"),
    pytest.param(
        "a\u202ab\u202bc\u202cd\u202de", "a<U+202A>b<U+202B>c<U+202C>d<U+202D>e", id="embeddings"
    ),
    pytest.param(
        "\u2066x\u2067y\u2068z\u2069", "<U+2066>x<U+2067>y<U+2068>z<U+2069>", id="isolates"
    ),
    pytest.param("\u061cx", "<U+061C>x", id="arabic letter mark"),
    pytest.param("\ufeffword\u2060", "<U+FEFF>word<U+2060>", id="BOM and word joiner"),
    pytest.param("so\u00adft", "so<U+00AD>ft", id="soft hyphen"),
    pytest.param("\u3164", "<U+3164>", id="Hangul filler"),
    pytest.param("one\u2028two\u2029", "one<U+2028>two<U+2029>", id="line separators"),
    pytest.param("\U000e0041\U000e007f", "<U+E0041><U+E007F>", id="tags alone"),
    pytest.param("\u200dlonely\u200c", "<U+200D>lonely<U+200C>", id="joiners alone"),
    pytest.param("pay\u200dpal", "pay<U+200D>pal", id="joiner between ASCII letters"),
    pytest.param("x\ufe0f\ufe0f", "x\ufe0f<U+FE0F>", id="a second variation selector"),
    pytest.param("a\x1b[2Jb\x07c\x9bd\x7f", "a␛[2Jb␇c\\x9bd␡", id="C0 and C1 controls"),
]

ORDINARY = [
    pytest.param("שלום עולם", id="Hebrew"),
    pytest.param("مرحبا بالعالم", id="Arabic"),
    pytest.param("می\u200cخواهم", id="Persian with ZWNJ"),
    pytest.param("क्\u200dष", id="Devanagari with ZWJ"),
    pytest.param("👩\u200d💻 🏳\ufe0f\u200d🌈 👨\u200d👩\u200d👧", id="ZWJ emoji"),
    pytest.param("❤\ufe0f 1\ufe0f\u20e3 👍🏽", id="variation selectors, keycaps, skin tones"),
    pytest.param("🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f", id="Wales"),
    pytest.param("Ge\u0301ne\u0301ral\ttab\nline", id="combining accents, tab, newline"),
]


@pytest.mark.parametrize(("text", "shown"), HOSTILE)
def test_hostile_characters_are_shown_as_escapes(text: str, shown: str) -> None:
    assert plain(text) == shown
    styled = safe(text, "bold")
    assert styled.plain == shown
    assert styled.spans
    assert all(str(span.style) == ESCAPE_STYLE for span in styled.spans)


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_scripts_and_emoji_are_kept(text: str) -> None:
    assert plain(text) == text
    assert safe(text).spans == []


def test_a_message_s_sender_and_body_are_neutralised() -> None:
    message = m.Message(
        msg_id=1, ts=TS, sender="bob\u3164", body="see \u202egnp.exe @alice", room="Général"
    )
    text = message_text(message, me="alice", tz=UTC)
    assert text.plain == "09:05 bob<U+3164> see <U+202E>gnp.exe @alice"
    assert not set(text.plain) & {"\u202e", "\u3164"}
    styles = {text.plain[s.start : s.end]: str(s.style) for s in text.spans}
    assert styles["<U+202E>"] == ESCAPE_STYLE
    assert styles["@alice"] == "bold reverse"  # the mention still found, where it is


def test_names_and_away_texts_in_the_user_list() -> None:
    user = m.UserInfo(name="eve\u3164", online=True, away=True, text="\u202eback soon")
    assert user_entry(user).plain == "◐ eve<U+3164> <U+202E>back soon"


async def test_hostile_texts_from_the_server_are_neutralised_everywhere(
    server: ChatServer, config_dir: Path
) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir), size=(160, 30)) as ui:
        await ui.log_in("alice")
        await bob.call(m.SetStatus, away=True, text="out\u200b\u202e")
        await Admin(server).topic("Général", "news \u2066hidden\u2069")
        await bob.call(m.Send, room="Général", body="click \u202egnp.exe")
        await Admin(server).notice("maintenance \u200eat noon")
        await ui.wait(lambda: ui.chat.query(MessageLine), "bob's message")
        await ui.wait(lambda: ui.toasts(), "the notice")
        await ui.settle()
        line = rendered(ui.chat.query(MessageLine).last())
        assert line.endswith("bob click <U+202E>gnp.exe")
        bar = ui.chat.query_one(StatusBar)
        await ui.wait(lambda: "hidden" in rendered(bar), "the topic")
        assert "news <U+2066>hidden<U+2069>" in rendered(bar)
        await ui.wait(lambda: "out" in rendered(ui.chat.query_one(UserList)), "bob away")
        users = rendered(ui.chat.query_one(UserList))
        assert "◐ bob out<U+200B>" in users
        assert "maintenance <U+200E>at noon" in [t.message for t in ui.toasts()]
        shown = (
            "\n".join(
                rendered(widget)
                for widget in (*ui.chat.query(MessageLine), bar, ui.chat.query_one(Sidebar))
            )
            + users
        )
        assert not set(shown) & {"\u200b", "\u200e", "\u202e", "\u2066", "\u2069"}


def link(style: str | Style) -> str | None:
    return style.link if isinstance(style, Style) else None


def test_web_addresses_are_links() -> None:
    body = "notes at https://wiki.example.org/Release_(2.0). And (http://x.fr/y), ok?"
    message = m.Message(msg_id=1, ts=TS, sender="bob", body=body, room="Général")
    text = message_text(message, me="alice", tz=UTC)
    linked = [(text.plain[s.start : s.end], s.style) for s in text.spans if link(s.style)]
    assert [(shown, link(style)) for shown, style in linked] == [
        ("https://wiki.example.org/Release_(2.0)", "https://wiki.example.org/Release_(2.0)"),
        ("http://x.fr/y", "http://x.fr/y"),
    ]
    assert all(isinstance(style, Style) and style.underline for _, style in linked)
    hostile = "https://evil.example/\u202eexe.pdf and https://a.b/\x1b]8;;x"
    assert [url for _, _, url in links(plain(hostile))] == [
        "https://evil.example/",
        "https://a.b/␛]8;;x",  # ESC shown, so the link cannot end early
    ]


async def test_links_in_the_message_pane(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await bob.call(m.Send, room="Général", body="the build: https://ci.example.org/42 done")
        await ui.wait(lambda: ui.chat.query(MessageLine), "bob's message")
        content = ui.chat.query(MessageLine).last().content
        assert isinstance(content, Text)
        assert [content.plain[s.start : s.end] for s in content.spans if link(s.style)] == [
            "https://ci.example.org/42"
        ]
