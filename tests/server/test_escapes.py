"""The escaping rule shared by the console and the log: which characters, and how."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_srv.escapes import escape, is_hidden, needs_escaping, runs, visible

# The categories `str.isprintable()` refuses: Other and Separator (the ASCII space aside).
HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"}


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\x1b", "\\x1b"),
        ("\x00", "\\x00"),
        ("\x7f", "\\x7f"),
        ("\x85", "\\x85"),  # NEL: a line break to some terminals
        ("\xa0", "\\xa0"),  # no-break space: a look-alike of a space
        ("\xad", "\\xad"),  # soft hyphen (Cf)
        ("\u034f", "\\u034f"),  # combining grapheme joiner (Mn, default ignorable)
        ("\u061c", "\\u061c"),  # Arabic letter mark (bidi)
        ("\u115f", "\\u115f"),  # Hangul fillers: letters (Lo) that print as nothing
        ("\u1160", "\\u1160"),
        ("\u3164", "\\u3164"),
        ("\uffa0", "\\uffa0"),
        ("\u180e", "\\u180e"),  # Mongolian vowel separator
        ("\u200b", "\\u200b"),  # zero-width space
        ("\u200c", "\\u200c"),
        ("\u200d", "\\u200d"),  # zero-width joiner
        ("\u200e", "\\u200e"),
        ("\u2028", "\\u2028"),  # line separator
        ("\u2029", "\\u2029"),  # paragraph separator
        ("\u202e", "\\u202e"),  # right-to-left override
        ("\u2066", "\\u2066"),
        ("\u2060", "\\u2060"),  # word joiner
        ("\u2800", "\\u2800"),  # Braille blank
        ("\u3000", "\\u3000"),  # ideographic space
        ("\ufe0f", "\\ufe0f"),  # variation selector 16
        ("\ufeff", "\\ufeff"),  # byte order mark, zero-width no-break space
        ("\ue000", "\\ue000"),  # private use
        ("\ud800", "\\ud800"),  # a lone surrogate
        ("\U000e0041", "\\U000e0041"),  # tag latin capital A
        ("\U000e0100", "\\U000e0100"),  # variation selector 17
        ("\U0010ffff", "\\U0010ffff"),  # unassigned
    ],
)
def test_hidden_characters_are_escaped(char: str, shown: str) -> None:
    assert is_hidden(char)
    assert escape(char) == shown
    assert visible(f"a{char}b") == f"a{shown}b"


@pytest.mark.parametrize(
    "text",
    [
        "plain ASCII, with [brackets] and a \\ backslash",
        "Général, Comptabilité",
        "日本語のテキスト",
        "עברית ومرحبا",  # right-to-left letters are letters; only the controls are escaped
        "e\u0301 combining accents",
        "emoji 😀 ✓",
    ],
)
def test_visible_text_is_kept(text: str) -> None:
    assert not needs_escaping(text)
    assert visible(text) is text


def test_every_character_of_the_hidden_categories_is_escaped() -> None:
    # The whole code space is a second or so; planes 4 to 13 are all Cn.
    planes = [*range(0, 0x40000), *range(0xE0000, 0x110000, 7)]
    for code in planes:
        char = chr(code)
        if unicodedata.category(char) in HIDDEN_CATEGORIES and char != " ":
            assert is_hidden(char), f"U+{code:04X}"


def test_the_listed_default_ignorables_are_what_isprintable_misses() -> None:
    # They are listed by hand because Python's database has no property for them;
    # a newer database making them Cf would only make the list redundant, not wrong.
    for char in "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180f\u3164\ufe00\uffa0\U000e0100":
        assert char.isprintable(), f"U+{ord(char):04X} in Unicode {unicodedata.unidata_version}"
        assert is_hidden(char)


def test_runs_cut_text_at_each_hidden_character() -> None:
    cut = [("ab", False), ("\n", True), ("\u200b", True), ("cd", False)]
    assert list(runs("ab\n\u200bcd")) == cut


@given(st.text())
def test_anything_shown_is_one_printable_line(text: str) -> None:
    shown = visible(text)
    assert shown.isprintable()
    assert len(shown.splitlines()) <= 1
    assert not needs_escaping(shown)
