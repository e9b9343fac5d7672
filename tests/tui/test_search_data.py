"""The search view's drawing, alone: the words of a query, highlighted in a body, and a
result's two lines."""

from __future__ import annotations

from datetime import UTC, datetime

from chat_core import messages as m
from chat_tui.screens.search import HIGHLIGHT, highlighted, query_terms, result_entry, where

TS = int(datetime(2025, 6, 3, 9, 5, tzinfo=UTC).timestamp() * 1000)


def test_query_terms() -> None:
    assert query_terms('release "build is green" tag* x') == [
        ("release", False),
        ("build is green", False),
        ("tag", True),
        ("x", False),
    ]
    assert query_terms('"" * ') == []


def test_the_words_found_are_highlighted() -> None:
    text = highlighted("Tagging the Release, re-release and tags", query_terms("release tag*"))
    found = [text.plain[span.start : span.end] for span in text.spans if span.style == HIGHLIGHT]
    assert found == ["Release", "release", "Tagging", "tags"]  # words, not inside them
    text = highlighted("Le GÉNÉRAL, généralement", query_terms("general"))
    assert [text.plain[s.start : s.end] for s in text.spans] == ["GÉNÉRAL"]  # as the server
    text = highlighted("e\u0301te\u0301 : ÉTÉ", query_terms("été"))  # combining accents too
    assert [text.plain[s.start : s.end] for s in text.spans] == ["e\u0301te\u0301", "ÉTÉ"]
    text = highlighted("[bold]x[/] stays", query_terms('"x[/] stays"'))
    assert text.plain == "[bold]x[/] stays"
    assert [text.plain[s.start : s.end] for s in text.spans] == ["x[/] stays"]


def test_a_result_says_where_when_and_who() -> None:
    message = m.Message(msg_id=4, ts=TS, sender="bob", body="the build\nis green", room="Général")
    head, body = result_entry(message, me="alice", tz=UTC, terms=[("build", False)]).renderables
    assert str(head) == "#Général  3 Jun 2025 09:05  bob"
    assert str(body) == "  the build…"
    dm = m.Message(msg_id=5, ts=TS, sender="alice", body="psst", to="bob")
    assert where(dm, "alice") == "@bob"
    assert where(m.Message(msg_id=6, ts=TS, sender="bob", body="psst", to="alice"), "alice") == (
        "@bob"
    )


def test_names_in_a_result_show_their_invisible_characters() -> None:
    """A name from before the server checked names may hold a bidi override."""
    message = m.Message(msg_id=7, ts=TS, sender="bo\u202eb", body="x\u200by", room="R\u200eoom")
    head, body = result_entry(message, me="alice", tz=UTC, terms=[]).renderables
    assert str(head) == "#R<U+200E>oom  3 Jun 2025 09:05  bo<U+202E>b"
    assert str(body) == "  x<U+200B>y"
