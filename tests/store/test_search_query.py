"""The search query language: what `parse_query` reads, and what each backend is given."""

from __future__ import annotations

import re

import pytest

from chat_srv.store.base import SearchScope, SearchTerm
from chat_srv.store.search import (
    KEY_CHARS,
    fold,
    fts5_match,
    index_keys,
    index_rows,
    matches,
    parse_query,
    scope_sql,
)

W = SearchTerm  # a word, or a phrase of words


def prefix(word: str) -> SearchTerm:
    """The term of `word*`."""
    return SearchTerm((word,), prefix=True)


HOSTILE = [
    'a" OR b',
    "NEAR(a b, 2)",
    "a NOT b",
    "-a +b ~c <d >e @f",
    "col:val body:x place:r1",
    "^start",
    "(a OR b) AND c",
    '"""',
    '"unbalanced quote',
    'two "quotes" "',
    "*",
    "***",
    "a**",
    "*a",
    "a * b",
    "''",
    "' OR 1=1 --",
    "a; DROP TABLE messages; --",
    "%_%",
    "\\",
    "\x00\x1b[31m",
    "!!! ??? ...",
    "👍🎉",
    "x" * 200,
    " ".join(["ab"] * 66),
    "é" * 200,
    "MATCH AGAINST IN BOOLEAN MODE",
    "{body place} : x",
    "a:b:c",
    "+",
    "-",
    "\u200b\u202e",
]


def test_words_phrases_and_prefixes() -> None:
    assert parse_query("release build") == [W(("release",)), W(("build",))]
    assert parse_query('  "mot de passe"  oublié ') == [W(("mot", "de", "passe")), W(("oublié",))]
    assert parse_query("deploy* dé*") == [prefix("deploy"), prefix("dé")]
    assert parse_query("deploy deploy DEPLOY") == [W(("deploy",)), W(("DEPLOY",))]
    assert parse_query("Ge\u0301ne\u0301ral") == [W(("Général",))]  # NFC


def test_punctuation_separates_words_and_joins_a_phrase() -> None:
    assert parse_query("e-mail") == [W(("e", "mail"))]
    assert parse_query("l'équipe v1.2") == [W(("l", "équipe")), W(("v1", "2"))]
    assert parse_query("foo_bar") == [W(("foo_bar",))]
    assert parse_query("-build +tag") == [W(("build",)), W(("tag",))]
    assert parse_query("col:val") == [W(("col", "val"))]
    assert parse_query("NEAR(a b)") == [W(("NEAR", "a")), W(("b",))]


def test_stars_count_only_after_one_word() -> None:
    assert parse_query("*") == []
    assert parse_query("a**") == [prefix("a")]
    assert parse_query("*a") == [W(("a",))]
    assert parse_query("e-ma*") == [W(("e", "ma"))]
    assert parse_query('"big dat"*') == [W(("big", "dat"))]
    assert parse_query("a*b") == [W(("a", "b"))]


def test_quotes() -> None:
    assert parse_query('"unbalanced quote') == [W(("unbalanced", "quote"))]
    assert parse_query('"one"') == [W(("one",))]
    assert parse_query('a"b c"d') == [W(("a",)), W(("b", "c")), W(("d",))]
    assert parse_query('""') == []
    assert parse_query('"!!"') == []


def test_nothing_to_search() -> None:
    for query in ("!!! ??? ...", "👍🎉", "*", '"', "   ", "\x00\x1b[", "-", "\u200b"):
        assert parse_query(query) == [], query


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_reach_the_databases_as_quoted_words(query: str) -> None:
    terms = parse_query(query)
    for term in terms:
        assert all(re.fullmatch(r"\w+", word) for word in term.words), term
    if not terms:
        return
    scope = SearchScope(room_ids=(1, 2), user_id=3)
    match = fts5_match(terms, scope)
    # Outside the double quotes only the expression's own syntax remains.
    outside = re.sub(r'"[^"]*"', "", match)
    assert re.fullmatch(r"[\sa-z:()*ANDOR]*", outside), match
    # MySQL's index is looked up by keys passed as parameters: only word characters
    # and the `*` of a short prefix's key.
    for term in terms:
        for word in term.words:
            for key in index_keys(word):
                assert re.fullmatch(r"\*?\w+|( \w+){2}", key), key


def test_fts5_expression() -> None:
    terms = [W(("build",)), W(("mot", "de", "passe")), prefix("dé")]
    body = '(body : "build" AND body : "mot de passe" AND body : "dé" *)'
    assert fts5_match(terms, SearchScope(room_ids=(4,))) == body + ' AND (place : "r4")'
    assert fts5_match(terms, SearchScope(room_ids=(4, 5), user_id=7)) == (
        body + ' AND (place : "r4" OR place : "r5" OR place : "u7")'
    )
    assert fts5_match(terms, SearchScope(user_id=9, peer_id=7)) == (
        body + ' AND ((place : "u7" AND place : "u9"))'
    )


def test_words_are_folded_as_both_indexes_compare_them() -> None:
    assert fold("Général") == fold("GÉNÉRAL") == fold("general") == "general"
    assert fold("Straße") == "strasse"
    assert fold("œuvre") == fold("Œuvre") == "oeuvre"
    assert fold("naïve") == "naive"
    assert fold("Ångström") == "angstrom"
    assert fold("ﬁle") == "file"  # a compatibility ligature
    assert fold("日本語") == "日本語"
    assert fold("foo_bar") == "foo_bar"


def test_index_keys_are_words_prefixes_and_pairs() -> None:
    assert index_keys("Déployé le build, build à l'heure") == {
        "deploye", "le", "build", "a", "l", "heure",
        "*de", "*le", "*bu", "*a", "*l", "*he",
        " deploye le", " le build", " build build", " build a", " a l", " l heure",
    }  # fmt: skip
    assert index_keys("") == set()
    assert index_keys("!!! 👍") == set()
    long = "x" * (KEY_CHARS + 10)
    assert index_keys(f"{long} y") == {"x" * KEY_CHARS, "*xx", "y", "*y", " " + "x" * 63}
    # A space and `*` sort before every word character: the words a prefix starts
    # are a range of keys of their own.
    assert all(c > "*" for c in "0_aé日")


def test_index_rows_name_each_place() -> None:
    keys = sorted(index_keys("ok"))
    assert keys == ["*ok", "ok"]
    assert sorted(index_rows(7, "ok", 3, None, None)) == [(k, 3, 7) for k in keys]
    rows = sorted(index_rows(8, "ok", None, 2, 5))
    assert rows == sorted((k, p, 8) for k in keys for p in (-2, -5))
    # A conversation with oneself: one place.
    assert sorted(index_rows(9, "ok", None, 4, 4)) == [(k, -4, 9) for k in keys]


def test_matches_is_the_rule_for_words_phrases_and_prefixes() -> None:
    body = "Le déploiement du serveur est prévu demain, mot de passe changé."
    assert matches([W(("deploiement",))], body)
    assert matches([W(("SERVEUR",)), W(("demain",))], body)
    assert not matches([W(("serveurs",))], body)
    assert matches([W(("mot", "de", "passe"))], body)
    assert not matches([W(("passe", "mot"))], body)
    assert not matches([W(("mot", "passe"))], body)
    assert matches([prefix("dépl")], body)
    assert matches([prefix("PRÉ")], body)
    assert not matches([prefix("prevus")], body)
    assert not matches([W(("deploiement",)), W(("absent",))], body)
    # A phrase whose first word comes twice, the second time followed as asked.
    assert matches([W(("a", "b"))], "a c a b")
    assert matches([], body)


def test_scope_condition() -> None:
    assert scope_sql(SearchScope(room_ids=(4,))) == ("(m.room_id IN (?))", (4,))
    assert scope_sql(SearchScope(room_ids=(4, 5), user_id=7)) == (
        "(m.room_id IN (?, ?) OR m.dm_lo = ? OR m.dm_hi = ?)",
        (4, 5, 7, 7),
    )
    assert scope_sql(SearchScope(user_id=9, peer_id=7)) == (
        "((m.dm_lo = ? AND m.dm_hi = ?))",
        (7, 9),
    )
    assert scope_sql(SearchScope()) == ("0 = 1", ())
