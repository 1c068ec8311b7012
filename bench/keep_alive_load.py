"""GET load over keep-alive connections: one request in flight per connection, no pipelining.

Each load process runs its connections on one uvloop loop with bare protocols (no streams, no
HTTP library) so that a response costs it a few microseconds; the benchmark starts several.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import cast

import uvloop

from .process_tree import own_cpu_seconds

DRAIN_SECONDS = 10.0
RECONNECT_PAUSE = 0.05


@dataclass
class KeepAliveFigures:
    """What one load process measured over its measurement window."""

    latencies: list[float]  # seconds, of the 200 answers completed in the window
    errors: int  # non-200 answers, refused connects, connections lost mid-request
    reconnects: int  # connections the server closed (keep-alive limits) and were opened again
    cpu_seconds: float  # the process's own CPU time over the window


class _Load:
    """The shared state of one process's connections."""

    def __init__(self, port: int, path: str, warmup: float, seconds: float) -> None:
        self.port = port
        self.request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        self.measure_from = time.perf_counter() + warmup
        self.measure_until = self.measure_from + seconds
        self.latencies = array("d")
        self.errors = 0
        self.reconnects = 0
        self.open = 0
        self.all_closed = asyncio.Event()
        self._connecting: set[asyncio.Task[None]] = set()

    def sending(self) -> bool:
        return time.perf_counter() < self.measure_until

    def record(self, sent: float, ok: bool) -> None:
        now = time.perf_counter()
        if not ok:
            self.errors += 1
        elif self.measure_from <= now <= self.measure_until:
            self.latencies.append(now - sent)

    def start_connection(self) -> None:
        self.open += 1
        task = asyncio.get_running_loop().create_task(self._connect())
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        while self.sending():
            try:
                await loop.create_connection(lambda: _Client(self), "127.0.0.1", self.port)
                return
            except OSError:
                self.errors += 1
                await asyncio.sleep(RECONNECT_PAUSE)
        self.closed()

    def closed(self) -> None:
        self.open -= 1
        if self.sending():
            self.reconnects += 1
            self.start_connection()
        elif not self.open:
            self.all_closed.set()


class _Client(asyncio.Protocol):
    """One keep-alive connection: a request, its whole response, the next request."""

    def __init__(self, load: _Load) -> None:
        self._load = load
        self._buffer = bytearray()
        self._sent = 0.0
        self._waiting = False
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, though they are one.
        self._transport = cast(asyncio.Transport, transport)
        self._next()

    def _next(self) -> None:
        assert self._transport is not None
        if self._load.sending():
            self._waiting = True
            self._sent = time.perf_counter()
            self._transport.write(self._load.request)
        else:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        start = head.find(b"\r\ncontent-length:")
        if start < 0:
            # Every server benchmarked here sends pages with a length; anything else is an error.
            self._transport.close()
            return
        line_end = head.find(b"\r\n", start + 2)
        length = int(head[start + 17 : line_end if line_end >= 0 else None])
        if len(self._buffer) < end + 4 + length:
            return
        del self._buffer[: end + 4 + length]
        self._waiting = False
        self._load.record(self._sent, head[9:12] == b"200")
        if b"\r\nconnection: close" in head:
            self._transport.close()
        else:
            self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiting:
            self._load.errors += 1
        self._load.closed()


async def _run(
    port: int, path: str, connections: int, warmup: float, seconds: float
) -> KeepAliveFigures:
    load = _Load(port, path, warmup, seconds)
    loop = asyncio.get_running_loop()
    window_cpu: asyncio.Future[float] = loop.create_future()
    loop.call_later(warmup, lambda: window_cpu.set_result(own_cpu_seconds()))
    for _ in range(connections):
        load.start_connection()
    await asyncio.sleep(warmup + seconds)
    cpu_seconds = own_cpu_seconds() - window_cpu.result()
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            await load.all_closed.wait()
    except TimeoutError:
        load.errors += load.open
    return KeepAliveFigures(load.latencies.tolist(), load.errors, load.reconnects, cpu_seconds)


def keep_alive_process(
    port: int, path: str, connections: int, warmup: float, seconds: float, conn: Connection
) -> None:
    """GET ``path`` on ``connections`` keep-alive connections for warmup + seconds; report."""
    conn.send("ready")
    conn.recv()
    conn.send(uvloop.run(_run(port, path, connections, warmup, seconds)))
