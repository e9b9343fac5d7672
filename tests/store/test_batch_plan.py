"""Properties of the batch planning both stores share (nonce deduplication)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chat_srv.store import NewMessage, StoredId
from chat_srv.store.migrations import KnownNonce, KnownNonces, conversation_rows, plan_batch

senders = st.integers(min_value=1, max_value=3)
nonces = st.none() | st.sampled_from(["a", "b", "a "])
bodies = st.sampled_from(["x", "y"])
batches = st.lists(st.tuples(senders, nonces, bodies), max_size=30)
known_nonces = st.dictionaries(st.tuples(senders, st.sampled_from(["a", "b"])), bodies)


@given(batches, known_nonces)
def test_each_nonce_is_inserted_at_most_once(
    batch_spec: list[tuple[int, str | None, str]], known_spec: dict[tuple[int, str], str]
) -> None:
    known: KnownNonces = {
        key: KnownNonce(1000 + i, 7, known_spec[key], 1, None)
        for i, key in enumerate(sorted(known_spec))
    }
    batch = [
        NewMessage(sender_id=s, body=body, ts=i, room_id=1, nonce=n)
        for i, (s, n, body) in enumerate(batch_spec)
    ]
    plan = plan_batch(batch, known)
    ids = [1 + i for i in range(len(plan.fresh))]
    results = plan.results(ids)

    assert len(results) == len(batch)
    inserted_keys = [(m.sender_id, m.nonce) for m in plan.fresh if m.nonce is not None]
    assert len(inserted_keys) == len(set(inserted_keys))
    assert not set(inserted_keys) & set(known)
    first_seen: dict[tuple[int, str], tuple[StoredId, str]] = {}
    for message, result in zip(batch, results, strict=True):
        if message.nonce is None:
            assert result.fresh
            assert not result.reused
            assert result.ts == message.ts
            continue
        key = (message.sender_id, message.nonce)
        if key in known:
            stored = known[key]
            reused = stored.body != message.body
            assert result == StoredId(stored.msg_id, stored.ts, fresh=False, reused=reused)
        elif key in first_seen:
            first, body = first_seen[key]
            assert result == StoredId(first.msg_id, first.ts, False, body != message.body)
        else:
            assert result.fresh
            assert not result.reused
            assert result.ts == message.ts
            first_seen[key] = (result, message.body)
    assert sum(r.fresh for r in results) == len(plan.fresh)


def test_conversation_rows() -> None:
    batch = [
        NewMessage(sender_id=1, body="x", ts=0, recipient_id=2),
        NewMessage(sender_id=2, body="x", ts=0, recipient_id=1),
        NewMessage(sender_id=3, body="x", ts=0, room_id=9),
        NewMessage(sender_id=3, body="x", ts=0, recipient_id=3),
    ]
    assert conversation_rows(batch) == [(1, 2), (2, 1), (3, 3)]
