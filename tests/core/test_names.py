"""Names, passwords and bodies: the rules of `chat_core.names`."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_core import names
from chat_core.errors import ErrorCode, ProtocolError
from chat_core.names import (
    body_problem,
    check_body,
    check_password,
    check_room_name,
    check_user_name,
    name_key,
)
from tests.core.strategies import bodies, room_names, user_names

DECOMPOSED = "Ge\u0301ne\u0301ral"


# ---------------------------------------------------------------------- uniqueness


@pytest.mark.parametrize(
    "spelling", ["Général", "GÉNÉRAL", "général", DECOMPOSED, "GE\u0301NE\u0301RAL"]
)
def test_general_spellings_share_a_key(spelling: str) -> None:
    assert name_key(spelling) == name_key("Général") == "général"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Straße", "STRASSE"),
        ("Straße", "strasse"),
        ("ß", "ss"),
        ("\u212aelvin", "kelvin"),  # KELVIN SIGN is K after NFC
        ("ΣΊΣΥΦΟΣ", "σίσυφος"),
        ("Zoé", "ZOE\u0301"),
    ],
)
def test_equivalent_names(one: str, other: str) -> None:
    assert name_key(one) == name_key(other)


@pytest.mark.parametrize(
    ("one", "other"), [("Général", "General"), ("bob", "bob_"), ("a.b", "a-b"), ("i", "ı")]
)
def test_different_names(one: str, other: str) -> None:
    assert name_key(one) != name_key(other)


@settings(max_examples=300)
@given(st.text())
def test_key_ignores_canonical_decomposition(text: str) -> None:
    assert name_key(unicodedata.normalize("NFD", text)) == name_key(text)
    assert name_key(text) == name_key(unicodedata.normalize("NFC", text))


# -------------------------------------------------------------------- normalisation


def test_check_returns_nfc_and_keeps_case() -> None:
    assert check_room_name(DECOMPOSED) == "Général"
    assert check_user_name("ZOE\u0301") == "ZOÉ"
    assert check_user_name("Bob") == "Bob"


@settings(max_examples=300)
@given(user_names)
def test_valid_user_names_survive_unchanged(name: str) -> None:
    assert check_user_name(name) == name
    assert check_user_name(unicodedata.normalize("NFD", name)) == name
    assert check_room_name(name) == name  # every user name is also a room name


@settings(max_examples=200)
@given(room_names)
def test_valid_room_names_survive_unchanged(name: str) -> None:
    assert check_room_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["Général", "Comptabilité", "bob", "a", "_", "a.b-c_d", "用户", "Ωmega", "Жанна", "x٣٤"],
)
def test_valid_names(name: str) -> None:
    assert check_user_name(name) == name
    assert check_room_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "a b",
        "a,b",
        "a;b",
        "a:b",
        "a'b",
        "a@b",
        "a\tb",
        "a\u00a0b",
        "😀",
        "x\u0301",
        "#room",
    ],
)
def test_invalid_names(name: str) -> None:
    for check in (check_user_name, check_room_name):
        with pytest.raises(ProtocolError) as info:
            check(name)
        assert info.value.code is ErrorCode.INVALID_NAME


def test_name_length_limits() -> None:
    assert check_user_name("u" * 32) == "u" * 32
    assert check_room_name("r" * 60) == "r" * 60
    with pytest.raises(ProtocolError):
        check_user_name("u" * 33)
    with pytest.raises(ProtocolError):
        check_room_name("r" * 61)
    assert check_user_name("e\u0301" * 32) == "é" * 32  # counted after NFC


# ----------------------------------------------------------------------- passwords


@pytest.mark.parametrize("length", [8, 9, 255, 256])
def test_password_lengths_accepted(length: int) -> None:
    check_password("p" * length)


@pytest.mark.parametrize("length", [0, 1, 7, 257, 10_000])
def test_password_lengths_refused(length: int) -> None:
    with pytest.raises(ProtocolError) as info:
        check_password("p" * length)
    assert info.value.code is ErrorCode.INVALID_PASSWORD


# -------------------------------------------------------------------------- bodies


@settings(max_examples=300)
@given(bodies)
def test_generated_bodies_are_valid(body: str) -> None:
    assert body_problem(body) is None


@pytest.mark.parametrize("char", [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]])
def test_every_control_character_but_newline_and_tab_is_refused(char: str) -> None:
    assert unicodedata.category(char) == "Cc"
    problem = body_problem(f"a{char}b")
    if char in "\n\t":
        assert problem is None
    else:
        assert problem is not None


def test_body_limits() -> None:
    assert body_problem("a" * 4000) is None
    assert body_problem("a" * 4001) is not None
    assert body_problem("😀" * 4000) is None
    assert body_problem("") is not None
    assert body_problem("\n\n") is not None
    with pytest.raises(ProtocolError) as info:
        check_body(" ")
    assert info.value.code is ErrorCode.BAD_REQUEST


def test_byte_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # With 4000 characters of at most 4 bytes, a body never exceeds 16 KiB; lift the
    # character limit to show the byte rule on its own.
    assert names.BODY_MAX_CHARS * 4 <= names.BODY_MAX_BYTES
    monkeypatch.setattr(names, "BODY_MAX_CHARS", 10_000)
    assert body_problem("😀" * 4096) is None  # exactly 16 KiB
    problem = body_problem("😀" * 4097)
    assert problem is not None
    assert "bytes" in problem
    assert body_problem("é" * 8193) is not None
    assert body_problem("a" * 10_000) is None
