"""Small helpers to read and write frames on asyncio streams (clients, tests, bots)."""

from __future__ import annotations

import asyncio

from chat_core.errors import FrameError
from chat_core.framing import HEADER_SIZE, SERVER_FRAME_LIMIT
from chat_core.messages import Event, Frame, RawReply, decode_server_payload, encode


async def read_payload(
    reader: asyncio.StreamReader, max_payload: int = SERVER_FRAME_LIMIT
) -> bytes | None:
    """The next frame's payload, or None at a clean end of stream.

    Raises:
        FrameError: the length prefix is zero or over `max_payload`.
        asyncio.IncompleteReadError: the stream ended inside a frame.
    """
    try:
        header = await reader.readexactly(HEADER_SIZE)
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            return None
        raise
    length = int.from_bytes(header, "big")
    if length == 0 or length > max_payload:
        raise FrameError(f"frame length {length} outside 1..{max_payload}")
    return await reader.readexactly(length)


async def read_server_frame(
    reader: asyncio.StreamReader, max_payload: int = SERVER_FRAME_LIMIT
) -> Event | RawReply | None:
    """The next event or reply from a server, or None at a clean end of stream."""
    payload = await read_payload(reader, max_payload)
    return None if payload is None else decode_server_payload(payload)


async def write_frame(writer: asyncio.StreamWriter, message: Frame) -> None:
    """Encode `message`, write it and wait for the buffer to drain."""
    writer.write(encode(message))
    await writer.drain()
