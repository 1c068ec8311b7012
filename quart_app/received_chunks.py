"""A connection's incoming bytes as the event loop received them, read from the socket on demand.

asyncio's ``StreamReader`` copies every piece it is fed into one buffer and copies it out again
for each read; Hypercorn then reads it 64 KiB at a time, so a 256 KiB piece received by uvloop
crossed the connection handler as four copies in four steps. This keeps each piece as the
``bytes`` the event loop made and hands it over whole. It also bounds what a connection holds
in memory: the socket is paused as soon as a piece is waiting, and read again only when the
connection handler asks for more, so the kernel's socket buffer, not the process, holds what
the app is not ready for.
"""

from __future__ import annotations

import asyncio
from collections import deque


class ReceivedChunks:
    """Takes over a ``StreamReader`` fed by its protocol: ``read()`` returns whole pieces."""

    def __init__(self, reader: asyncio.StreamReader, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._chunks: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        # What the reader was fed before this took over (the request's first bytes, often).
        buffered: bytearray = reader._buffer  # type: ignore[attr-defined]
        if buffered:
            self._chunks.append(bytes(buffered))
            buffered.clear()
        self._paused: bool = reader._paused  # type: ignore[attr-defined]
        self._eof: bool = reader._eof  # type: ignore[attr-defined]
        self._error: Exception | None = reader.exception()
        # The protocol calls these on the reader for each event of the connection.
        self._reader_feed_eof = reader.feed_eof
        self._reader_set_exception = reader.set_exception
        reader.feed_data = self._feed_data  # type: ignore[method-assign, assignment]
        reader.feed_eof = self._feed_eof  # type: ignore[method-assign]
        reader.set_exception = self._set_exception  # type: ignore[method-assign]

    def at_eof(self) -> bool:
        """Whether the peer has finished sending and every piece has been read."""
        return self._eof and not self._chunks

    async def read(self) -> bytes:
        """The next piece received, waiting for one if need be; ``b""`` at the end."""
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            if self._paused:
                self._paused = False
                self._transport.resume_reading()  # type: ignore[attr-defined]
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._chunks.popleft()

    def _feed_data(self, data: bytes) -> None:
        if not data:
            return
        self._chunks.append(data)
        if not self._paused:
            self._paused = True
            self._transport.pause_reading()  # type: ignore[attr-defined]
        self._wake()

    def _feed_eof(self) -> None:
        self._eof = True
        self._reader_feed_eof()
        self._wake()

    def _set_exception(self, exc: Exception) -> None:
        self._error = exc
        self._reader_set_exception(exc)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
