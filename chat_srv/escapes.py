"""Showing untrusted text on one line: every hidden or line-breaking character escaped.

`visible` is the one rule for every user text the server shows an administrator,
in the console and in the log alike: a character that is not printable, or prints
as nothing, becomes the escape Python would write for it (`\\n`, `\\t`, `\\x1b`,
`\\u200b`, `\\U000e0041`). What is escaped:

- every character `str.isprintable()` refuses, which is exactly Unicode's Other
  (Cc controls with `\\n`, `\\r`, `\\t`, ESC and U+0085; Cf format characters such
  as zero-width spaces and joiners, U+FEFF and the bidi controls; Cs surrogates;
  Co private use; Cn unassigned) and Separator categories (Zl U+2028, Zp U+2029,
  and every Zs space but the ASCII one: U+00A0, U+3000 and the like are
  look-alikes of a space, so they are shown too);
- the Default_Ignorable_Code_Point characters that are printable by category:
  see `_PRINTABLE_IGNORABLE`.

No module here imports Rich: the log formatter uses this too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import groupby

# The Default_Ignorable_Code_Point characters that `str.isprintable()` accepts
# (DerivedCoreProperties.txt: Other_Default_Ignorable_Code_Point and
# Variation_Selector in PropList.txt, less the Cf and Cn ones, which are not
# printable anyway). Unicode 15.1:
#   034F        Mn  COMBINING GRAPHEME JOINER
#   115F..1160  Lo  HANGUL CHOSEONG FILLER, HANGUL JUNGSEONG FILLER
#   17B4..17B5  Mn  KHMER VOWEL INHERENT AQ, AA
#   180B..180D  Mn  MONGOLIAN FREE VARIATION SELECTOR ONE..THREE
#   180F        Mn  MONGOLIAN FREE VARIATION SELECTOR FOUR
#   3164        Lo  HANGUL FILLER
#   FE00..FE0F  Mn  VARIATION SELECTOR-1..16
#   FFA0        Lo  HALFWIDTH HANGUL FILLER
#   E0100..E01EF Mn VARIATION SELECTOR-17..256
# Plus one outside the property: U+2800 BRAILLE PATTERN BLANK (So) is drawn as
# nothing in every font, the favourite invisible name where fillers are refused.
_PRINTABLE_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u2800\u3164"
    "\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def is_hidden(char: str) -> bool:
    """Whether the one character `char` is shown escaped."""
    return not char.isprintable() or _PRINTABLE_IGNORABLE.match(char) is not None


def escape(char: str) -> str:
    """The escape of one character, as Python spells it: `\\n`, `\\x1b`, `\\u202e`."""
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def needs_escaping(text: str) -> bool:
    """Whether `text` holds a character `visible` would escape."""
    if text.isprintable():
        # Printable ASCII (the common case, and every log line of ours) is done.
        return not text.isascii() and _PRINTABLE_IGNORABLE.search(text) is not None
    return True


def visible(text: str) -> str:
    """`text` on one line, with every hidden or line-breaking character escaped.

    A backslash typed by the user is left as it is: the console marks the escapes
    it made (see `chat_srv.console.render.plain`), and doubling it would double
    again every `%r` in a log line.
    """
    if not needs_escaping(text):
        return text
    return "".join(escape(part) if hidden else part for part, hidden in runs(text))


def runs(text: str) -> Iterator[tuple[str, bool]]:
    """`text` cut into runs of shown characters (False) and single hidden ones (True)."""
    for hidden, chars in groupby(text, is_hidden):
        if hidden:
            for char in chars:
                yield char, True
        else:
            yield "".join(chars), False
