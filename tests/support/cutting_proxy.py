"""A loopback TCP proxy that cuts chosen connections after a number of bytes: a network that
drops in the middle of a request."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

from .live_server import free_port


class _Proxy:
    def __init__(self, target_port: int, cuts: Sequence[int], method: bytes) -> None:
        self.target_port = target_port
        self.cuts = list(cuts)
        self.method = method
        self.cut = 0
        self.writers: set[asyncio.StreamWriter] = set()

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.writers.add(client_w)
        server_w: asyncio.StreamWriter | None = None
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
            self.writers.add(server_w)
            first = await client_r.read(65536)
            budget: int | None = None
            if first.startswith(self.method) and self.cuts:
                budget = self.cuts.pop(0)
            back = asyncio.ensure_future(_pipe(server_r, client_w, None))
            try:
                await _pipe(client_r, server_w, budget, first)
            finally:
                if budget is not None:
                    self.cut += 1
                    # Cut both ways at once, as a dropped network does.
                    client_w.transport.abort()
                    server_w.transport.abort()
                await back
        finally:
            for writer in (client_w, server_w):
                if writer is not None:
                    writer.close()
                    self.writers.discard(writer)

    def close_all(self) -> None:
        for writer in self.writers:
            writer.transport.abort()


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    budget: int | None,
    first: bytes = b"",
) -> None:
    data = first
    with suppress(OSError, ConnectionError):
        while True:
            if not data:
                data = await reader.read(65536)
                if not data:
                    break
            if budget is not None:
                if len(data) >= budget:
                    writer.write(data[:budget])
                    await writer.drain()
                    return
                budget -= len(data)
            writer.write(data)
            await writer.drain()
            data = b""
        if writer.can_write_eof():
            writer.write_eof()


@contextmanager
def cutting_proxy(
    target_port: int, cuts: Sequence[int], *, method: bytes = b"PATCH"
) -> Iterator[tuple[int, _Proxy]]:
    """Forward a free loopback port to ``target_port``; the n-th connection whose request
    starts with ``method`` is cut after ``cuts[n]`` bytes from the client, the rest pass
    whole. Yields the port and the proxy (its ``cut`` counts the cuts made)."""
    port = free_port()
    proxy = _Proxy(target_port, cuts, method)
    ready = threading.Event()
    loop = asyncio.new_event_loop()

    async def serve() -> None:
        server = await asyncio.start_server(proxy.handle, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    def run() -> None:
        with suppress(asyncio.CancelledError):
            loop.run_until_complete(serve())
        if pending := asyncio.all_tasks(loop):
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        # Closed transports let go of their sockets on the loop's next turns.
        loop.run_until_complete(asyncio.sleep(0.05))
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield port, proxy
    finally:

        def stop() -> None:
            proxy.close_all()
            for task in asyncio.all_tasks(loop):
                task.cancel()

        loop.call_soon_threadsafe(stop)
        thread.join(10)
