"""The hub's books: a user's connections, one or several, as they come and go."""

from __future__ import annotations

from chat_srv.hub import Hub, Peer


class _Peer:
    protocol: int = 2
    ip: str | None = None

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.closed_with: bytes | None = None

    def deliver(self, data: bytes) -> None:
        self.frames.append(data)

    def close_with(self, data: bytes) -> None:
        self.closed_with = data


def test_a_users_connections_from_one_to_several_and_back() -> None:
    hub = Hub()
    a, b, c = _Peer(), _Peer(), _Peer()
    assert hub.attach(a, 1, [10]) is True  # the first
    assert hub.attach(a, 1, [10]) is False  # the same one again changes nothing
    assert set(hub.user_connections(1)) == set[Peer]((a,))
    assert hub.attach(b, 1, [10]) is False
    assert hub.attach(c, 1, []) is False
    assert set(hub.user_connections(1)) == set[Peer]((a, b, c))
    hub.to_user(1, b"x", skip=b)
    assert (a.frames, b.frames, c.frames) == ([b"x"], [], [b"x"])

    assert hub.detach(b, 1, [10]) is False
    assert hub.detach(b, 1, [10]) is False  # not there any more
    assert set(hub.user_connections(1)) == set[Peer]((a, c))
    assert hub.detach(a, 1, [10]) is False
    assert set(hub.user_connections(1)) == set[Peer]((c,))
    assert hub.is_online(1)
    assert hub.detach(a, 1, [10]) is False  # gone already: c stays
    assert hub.detach(c, 1, [10]) is True  # the last
    assert not hub.is_online(1)
    assert list(hub.user_connections(1)) == []
    assert hub.room_users(10) == set()


def test_one_connection_or_several_reach_rooms_and_everyone_alike() -> None:
    hub = Hub()
    alone, first, second = _Peer(), _Peer(), _Peer()
    hub.attach(alone, 1, [])
    hub.attach(first, 2, [])
    hub.attach(second, 2, [])
    hub.enter_room(1, 10)
    hub.enter_room(2, 10)
    assert hub.room_connections(10) == set[Peer]((alone, first, second))
    assert hub.room_users(10) == {1, 2}
    hub.to_everyone(b"all")
    assert [p.frames for p in (alone, first, second)] == [[b"all"]] * 3
    hub.exit_room(2, 10)
    assert hub.room_connections(10) == set[Peer]((alone,))
    assert hub.close_user(2, b"bye") == 2
    assert (first.closed_with, second.closed_with, alone.closed_with) == (b"bye", b"bye", None)
    assert hub.close_user(3, b"bye") == 0
