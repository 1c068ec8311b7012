from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from quart_app.received_chunks import ReceivedChunks


class RecordingTransport(asyncio.Transport):
    """A transport that records whether its reading is paused."""

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.calls: list[str] = []

    def pause_reading(self) -> None:
        self.paused = True
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.paused = False
        self.calls.append("resume")


def taken_over(
    *, already: bytes = b""
) -> tuple[asyncio.StreamReader, ReceivedChunks, RecordingTransport]:
    reader = asyncio.StreamReader()
    transport = RecordingTransport()
    reader.set_transport(transport)
    if already:
        reader.feed_data(already)
    return reader, ReceivedChunks(reader, transport), transport


async def test_pieces_come_out_as_they_were_fed_without_copies() -> None:
    reader, chunks, _ = taken_over()
    first, second = os.urandom(300_000), os.urandom(10)
    reader.feed_data(first)
    reader.feed_data(second)
    assert await chunks.read() is first
    assert await chunks.read() is second


async def test_what_the_reader_held_before_comes_first() -> None:
    reader, chunks, _ = taken_over(already=b"GET / HTTP/1.1\r\n")
    reader.feed_data(b"Host: x\r\n\r\n")
    assert await chunks.read() == b"GET / HTTP/1.1\r\n"
    assert await chunks.read() == b"Host: x\r\n\r\n"


async def test_the_socket_is_read_again_only_when_a_piece_is_asked_for() -> None:
    reader, chunks, transport = taken_over()
    reader.feed_data(b"one")
    assert transport.paused, "a piece waiting: the socket is not read"
    assert await chunks.read() == b"one"
    assert transport.paused, "taken, but nothing more asked for yet"
    later = asyncio.ensure_future(chunks.read())
    await asyncio.sleep(0)
    assert not transport.paused and transport.calls == ["pause", "resume"]
    reader.feed_data(b"two")
    assert await later == b"two"


async def test_the_end_comes_after_every_piece() -> None:
    reader, chunks, _ = taken_over()
    reader.feed_data(b"last")
    reader.feed_eof()
    assert not chunks.at_eof()
    assert await chunks.read() == b"last"
    assert chunks.at_eof()
    assert await chunks.read() == b""


async def test_an_end_before_the_takeover_is_kept() -> None:
    reader = asyncio.StreamReader()
    reader.set_transport(RecordingTransport())
    reader.feed_data(b"GET / HTTP/1.0\r\n\r\n")
    reader.feed_eof()
    chunks = ReceivedChunks(reader, RecordingTransport())
    assert await chunks.read() == b"GET / HTTP/1.0\r\n\r\n"
    assert chunks.at_eof()


async def test_a_lost_connection_is_raised_to_the_waiting_reader() -> None:
    reader, chunks, _ = taken_over()
    waiting = asyncio.ensure_future(chunks.read())
    await asyncio.sleep(0)
    reader.set_exception(ConnectionResetError("gone"))
    with pytest.raises(ConnectionResetError):
        await waiting


async def test_a_real_connection_arrives_whole_in_pieces_of_at_most_256_kib() -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    pieces: list[int] = []
    received = hashlib.sha256()
    done = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        chunks = ReceivedChunks(reader, writer.transport)
        while not chunks.at_eof():
            piece = await chunks.read()
            pieces.append(len(piece))
            received.update(piece)
        writer.close()
        done.set_result(None)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(payload)
        writer.write_eof()
        await writer.drain()
        await asyncio.wait_for(done, 30)
        writer.close()
    assert received.digest() == hashlib.sha256(payload).digest()
    assert max(pieces) <= 256 * 1024 and pieces[-1] == 0
