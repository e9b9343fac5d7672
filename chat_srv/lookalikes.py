"""Names that look like others, and names with invisible characters in them.

`alice` and `аlice` (Cyrillic а), `ａｌｉｃｅ`, `𝐚𝐥𝐢𝐜𝐞` or `aⅼice` are different strings
that a reader cannot tell apart. Unicode's answer is the *skeleton* of UTS #39
(Unicode Security Mechanisms, section 4): two strings are confusable when their
skeletons are equal. ICU implements it with Unicode's own confusables data, so
this module asks ICU rather than keeping a table of its own.

A name's look-alike keys are the skeletons of its NFKC form (which also folds
compatibility variants such as `ᵉ` into `e`), taken before and after casefolding:
case matters to the eye (`I` looks like `l`, `i` does not) while names are unique
case-insensitively, so both readings count. Two names collide when they share a
key.

Default-ignorable code points (the Hangul fillers U+115F, U+1160, U+3164, U+FFA0,
zero-width characters, variation selectors...) are drawn as nothing: a name that
holds one is not accepted at all.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import icu

_CHECKER = icu.SpoofChecker()
_IGNORABLE = icu.UnicodeSet("[:Default_Ignorable_Code_Point:]")


def skeleton(text: str) -> str:
    """The UTS #39 skeleton of `text`."""
    result: str = _CHECKER.getSkeleton(0, text)  # the type argument is unused since ICU 58
    return result


def lookalike_keys(name: str) -> frozenset[str]:
    """The keys under which `name` collides with every name that looks like it."""
    compatible = unicodedata.normalize("NFKC", name)
    return frozenset((skeleton(compatible).casefold(), skeleton(compatible.casefold())))


def has_invisible(name: str) -> bool:
    """Whether `name` holds a character that is drawn as nothing."""
    return any(_IGNORABLE.contains(char) for char in name)


class LookalikeIndex:
    """The look-alike keys of a set of names, each key to the name that holds it."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._owners: dict[str, str] = {}
        for name in names:
            self.add(name)

    def add(self, name: str) -> None:
        """Remember `name` (a name already taken, or claimed while it is created)."""
        for key in lookalike_keys(name):
            self._owners.setdefault(key, name)

    def remove(self, name: str) -> None:
        """Forget a name claimed for a creation that did not happen."""
        for key in lookalike_keys(name):
            if self._owners.get(key) == name:
                del self._owners[key]

    def clash(self, name: str) -> str | None:
        """The known name that `name` looks like, if any."""
        for key in lookalike_keys(name):
            owner = self._owners.get(key)
            if owner is not None:
                return owner
        return None
