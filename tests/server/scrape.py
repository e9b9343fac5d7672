"""A plain HTTP/1.1 client for `/metrics` and `/healthz`: real sockets to 127.0.0.1."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import TIMEOUT


@dataclass(frozen=True, slots=True)
class Response:
    """A status, the headers (names in lower case) and the body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


async def exchange(port: int, request: bytes, host: str = "127.0.0.1") -> Response:
    """Send `request` as it is and read the answer to its end (the server closes)."""
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(request)
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    version, status, _reason = status_line.split(" ", 2)
    assert version == "HTTP/1.1", status_line
    headers = {}
    for field in fields:
        name, _, value = field.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(int(status), headers, body)


async def get(port: int, path: str, method: str = "GET", *, host: str = "127.0.0.1") -> Response:
    """`METHOD path` with the headers a scraper sends."""
    request = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n\r\n"
    return await exchange(port, request.encode(), host)


async def scrape(port: int) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """The text of `/metrics` and its samples: (name, sorted labels) -> value."""
    response = await get(port, "/metrics")
    assert response.status == 200, response
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """One sample's value (a missing one fails the test)."""
    return samples[(name, tuple(sorted(labels.items())))]
