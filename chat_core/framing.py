"""Length-prefixed framing: a 4-byte big-endian length, then one MessagePack map.

`FrameDecoder` is incremental and does no I/O: feed it whatever a read returned and
it hands back every whole payload, keeping the rest for the next read.
"""

from __future__ import annotations

from chat_core.errors import FrameError

CLIENT_FRAME_LIMIT = 64 * 1024
"""Largest payload a server accepts from a client (the prefix is not counted)."""

SERVER_FRAME_LIMIT = 4 * 1024 * 1024
"""Largest payload a client accepts from a server."""

HEADER_SIZE = 4


def frame(payload: bytes) -> bytes:
    """Prefix an encoded payload with its length."""
    return len(payload).to_bytes(HEADER_SIZE, "big") + payload


class FrameDecoder:
    """Split a byte stream into payloads, checking each length before buffering it."""

    __slots__ = ("_buffer", "max_payload")

    def __init__(self, max_payload: int) -> None:
        self.max_payload = max_payload
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes from the stream; return the payloads completed by them, in order.

        Raises:
            FrameError: a length prefix is zero or over the limit. The stream cannot
                be resynchronised after that: the caller must close the connection.
        """
        buffer = self._buffer
        buffer += data
        size = len(buffer)
        payloads: list[bytes] = []
        start = 0
        while size - start >= HEADER_SIZE:
            length = int.from_bytes(buffer[start : start + HEADER_SIZE], "big")
            if length == 0 or length > self.max_payload:
                buffer.clear()
                raise FrameError(
                    f"frame length {length} outside 1..{self.max_payload}",
                )
            end = start + HEADER_SIZE + length
            if end > size:
                break
            payloads.append(bytes(buffer[start + HEADER_SIZE : end]))
            start = end
        if start:
            del buffer[:start]
        return payloads

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buffer)
