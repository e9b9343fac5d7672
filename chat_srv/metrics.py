"""The server's numbers for Prometheus: counters moved as things happen, gauges read on scrape.

`Metrics` holds every instrument on a `CollectorRegistry` of its own (never the
process-wide default), so two servers in one process count apart. It is made by
`ChatServer` whether or not `/metrics` is served (`chat_srv.metrics_http`): counting
costs a fraction of a microsecond, and the same numbers are there for the console
or a test to read.

Two kinds of numbers:

- **Counters and the histogram** are moved where the event happens, by one-line
  calls (`metrics.logins.inc()`). The hot path pays little: a request costs one
  dict look-up and one increment, a fan-out one increment by its number of
  recipients (not one per frame), a committed batch one increment and one
  observation.
- **Gauges of state** (connections by stage, sanctions in force) are not kept up
  to date at all: `watch(books)` registers a collector that reads the server's own
  books when scraped, so they can never drift from what the server holds.

No label carries a user name, an address or a message: the labels are the request
types of the protocol, the connection stages, the rate-limit reasons and the
sanction kinds, each a short fixed set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from chat_core import messages as m
from chat_core.errors import ProtocolError
from chat_srv.store.base import SanctionKind

CONNECTION_STATES: Final = ("handshake", "awaiting_login", "logged_in", "closing")
"""The stages of a socket, as `chat_connections` labels them."""
SANCTION_KINDS: Final = tuple(str(kind) for kind in SanctionKind)
INVALID: Final = "invalid"
"""The `type` of a request that could not be decoded."""
# Seconds: an SQLite batch is well under a millisecond; a MySQL one some; the top
# buckets are a database in trouble (db_timeout is 5 s by default).
BATCH_BUCKETS: Final = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


class Books(Protocol):
    """What the scrape-time gauges read: the server's own picture, counted now."""

    def connection_states(self) -> Mapping[str, int]:
        """Open sockets by stage (`CONNECTION_STATES`)."""

    def sanctions_in_force(self) -> Mapping[str, int]:
        """Kicks, bans and IP bans in force now, by kind (`SanctionKind` values)."""


def wire_name(kind: type[m.Request]) -> str:
    """The `type` a request class has on the wire (`send`, `mark_read`)."""
    return str(kind.__struct_config__.tag)


class Metrics:
    """Every instrument of one server, on its own registry (`registry`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.logins = Counter(
            "chat_logins",
            "Successful logins (a registration logs in too).",
            registry=registry,
        )
        self.login_failures = Counter(
            "chat_login_failures",
            "Logins refused for a wrong user name or password.",
            registry=registry,
        )
        self.registrations = Counter(
            "chat_registrations", "Accounts created with `register`.", registry=registry
        )
        self._requests = Counter(
            "chat_requests",
            f"Requests received, by type ({INVALID}: a frame that is no valid request).",
            ["type"],
            registry=registry,
        )
        self.messages_stored = Counter(
            "chat_messages_stored",
            "Room messages and direct messages stored (a repeated nonce is not stored again).",
            registry=registry,
        )
        self.deliveries = Counter(
            "chat_deliveries",
            "Frames handed to connections by fan-out (messages, presence, member and read events).",
            registry=registry,
        )
        self.store_batch_seconds = Histogram(
            "chat_store_batch_seconds",
            "Time to store one group-commit batch (Store.add_messages), failed ones included.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.slow_consumers = Counter(
            "chat_slow_consumer_drops",
            "Connections dropped for not reading what was sent to them (slow_consumer).",
            registry=registry,
        )
        limited = Counter(
            "chat_rate_limited",
            "Requests answered rate_limited, by the limit that refused them.",
            ["reason"],
            registry=registry,
        )
        self.limited_requests = limited.labels(reason="request_rate")
        """Over the request rate of a connection or of a user."""
        self.limited_logins = limited.labels(reason="login_attempts")
        self.limited_registrations = limited.labels(reason="registrations")
        self.limited_hashing = limited.labels(reason="hashing_busy")
        """Every password worker busy and the queue full."""
        # Children made up front: every series exists from the start (at 0), which
        # Prometheus's rate() needs, and the look-up per request is one dict get.
        self._by_type: dict[type[m.Request], Counter] = {
            kind: self._requests.labels(type=wire_name(kind)) for kind in m.REQUEST_TYPES
        }
        self._invalid = self._requests.labels(type=INVALID)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self._watched = False

    def request(self, request: m.Request | ProtocolError) -> None:
        """Count one request received (a `ProtocolError`: one that did not decode)."""
        if isinstance(request, ProtocolError):
            self._invalid.inc()
            return
        self._by_type[type(request)].inc()

    def watch(self, books: Books) -> None:
        """Serve the gauges of state from `books`, read at each scrape (once per server)."""
        if self._watched:
            raise RuntimeError("these metrics already watch a server")
        self._watched = True
        self.registry.register(_BooksCollector(books))


class _BooksCollector:
    """`chat_connections` and `chat_sanctions_in_force`, counted when scraped.

    Scrapes run in the server's event loop (`chat_srv.metrics_http`), so reading
    the loop's own sets and dicts here needs no lock.
    """

    def __init__(self, books: Books) -> None:
        self._books = books

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        connections, sanctions = self._families()
        states = self._books.connection_states()
        for state in CONNECTION_STATES:
            connections.add_metric([state], states.get(state, 0))
        kinds = self._books.sanctions_in_force()
        for kind in SANCTION_KINDS:
            sanctions.add_metric([kind], kinds.get(kind, 0))
        return [connections, sanctions]

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "chat_connections",
                "Open sockets by stage: TLS handshake, awaiting login, logged in, closing.",
                labels=["state"],
            ),
            GaugeMetricFamily(
                "chat_sanctions_in_force",
                "Kicks, user bans and IP bans in force, by kind.",
                labels=["kind"],
            ),
        ]
