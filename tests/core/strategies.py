"""Hypothesis strategies for valid protocol values, and helpers to cut byte streams.

The strategies only produce what the protocol accepts, already in the form the
decoder returns (names in NFC), so `decode_request(encode_payload(r)) == r` holds.
"""

from __future__ import annotations

import itertools
import unicodedata

from hypothesis import strategies as st

from chat_core import messages as m
from chat_core.names import BODY_MAX_CHARS, NONCE_MAX, ROOM_NAME_MAX, USER_NAME_MAX

REQUEST_ID_MAX = 2**31 - 1
MSG_ID_MAX = 2**63 - 1

# Letters worth seeing often: accents, a sharp s, Greek, Cyrillic, CJK, Arabic digits.
_SAMPLED_NAME_CHARS = "aZ09_.-éÉèçÇßøÆœΩωжЖ日本語٣"


def _is_name_char(char: str) -> bool:
    # Independent of the implementation's regex: letters (L*), decimal digits, _ . -
    return char in "_.-" or unicodedata.category(char) in {"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"}


def _name(max_size: int) -> st.SearchStrategy[str]:
    chars = st.one_of(
        st.sampled_from(_SAMPLED_NAME_CHARS),
        st.characters(categories=["Lu", "Ll", "Lo", "Nd"]),
    )
    return (
        st.text(chars, min_size=1, max_size=max_size)
        .map(lambda name: unicodedata.normalize("NFC", name))
        .filter(lambda name: 1 <= len(name) <= max_size and all(map(_is_name_char, name)))
    )


user_names = _name(USER_NAME_MAX)
room_names = st.one_of(st.sampled_from(["Général", "Comptabilité", "Blabla"]), _name(ROOM_NAME_MAX))
passwords = st.text(st.characters(exclude_categories=["Cs"]), min_size=8, max_size=256)

# Anything but surrogates and control characters, plus newline and tab.
_body_chars = st.one_of(
    st.characters(exclude_categories=["Cs", "Cc"]),
    st.sampled_from("\n\t é😀"),
)
bodies = st.text(_body_chars, min_size=1, max_size=300).filter(lambda body: not body.isspace())
long_bodies = st.integers(BODY_MAX_CHARS - 5, BODY_MAX_CHARS).map(lambda n: "😀" * n)
nonces = st.none() | st.text(
    st.characters(exclude_categories=["Cs"]), min_size=1, max_size=NONCE_MAX
)
request_ids = st.integers(0, REQUEST_ID_MAX)
msg_ids = st.integers(0, MSG_ID_MAX)
limits = st.integers(1, 200)


@st.composite
def _history(draw: st.DrawFn) -> m.History:
    room, peer = draw(st.one_of(st.tuples(room_names, st.none()), st.tuples(st.none(), user_names)))
    before, after = draw(
        st.one_of(
            st.tuples(st.none(), st.none()),
            st.tuples(msg_ids, st.none()),
            st.tuples(st.none(), msg_ids),
        )
    )
    return m.History(
        id=draw(request_ids),
        room=room,
        peer=peer,
        before=before,
        after=after,
        limit=draw(limits),
    )


@st.composite
def _mark_read(draw: st.DrawFn) -> m.MarkRead:
    room, peer = draw(st.one_of(st.tuples(room_names, st.none()), st.tuples(st.none(), user_names)))
    return m.MarkRead(id=draw(request_ids), msg_id=draw(msg_ids), room=room, peer=peer)


requests: st.SearchStrategy[m.Request] = st.one_of(
    st.builds(m.Register, id=request_ids, user=user_names, password=passwords),
    st.builds(m.Login, id=request_ids, user=user_names, password=passwords),
    st.builds(m.Logout, id=request_ids),
    st.builds(m.ListRooms, id=request_ids),
    st.builds(m.Join, id=request_ids, room=room_names),
    st.builds(m.Leave, id=request_ids, room=room_names),
    st.builds(m.Send, id=request_ids, room=room_names, body=bodies | long_bodies, nonce=nonces),
    st.builds(m.Dm, id=request_ids, to=user_names, body=bodies, nonce=nonces),
    _history(),
    st.builds(m.Who, id=request_ids, room=st.none() | room_names),
    _mark_read(),
    st.builds(m.Ping, id=request_ids),
    st.builds(
        m.Moderate,
        id=request_ids,
        command=st.text(
            st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=80
        ),
    ),
)


def cut_points(size: int) -> st.SearchStrategy[list[int]]:
    """Sorted offsets in 0..size at which to cut a byte string of `size` bytes."""
    return st.lists(st.integers(0, size), max_size=20).map(sorted)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at every offset in `cuts` (sorted); empty pieces are kept."""
    bounds = [0, *cuts, len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]
