"""Upload traffic for the benchmark: request bodies built in memory, sent over raw sockets from
forked processes, so that the load generator costs the machine little."""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing as mp
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import Any

import uvloop

from .process_tree import own_cpu_seconds

BOUNDARY = b"benchboundary7MA4YWxkTrZu0gW"
FIELD = "wordlist-upload"
TAIL = b"\r\n--" + BOUNDARY + b"--\r\n"
PAGE_INTERVAL = 0.020
MAX_PHASE_SECONDS = 600.0

# (status, body, seconds); status 0 when the exchange failed before an answer.
Exchange = tuple[int, bytes, float]


def header_lines(port: int, lines: list[str], headers: dict[str, str]) -> bytes:
    """A request's header lines after its request line: Host, ``lines``, then ``headers``."""
    every = [f"Host: 127.0.0.1:{port}", *lines]
    every += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(every) + "\r\n\r\n").encode()


def upload_request(port: int, headers: dict[str, str], head: bytes, length: int) -> bytes:
    """The request line and headers of an upload of ``length`` body bytes, then ``head``."""
    lines = [
        f"Content-Type: multipart/form-data; boundary={BOUNDARY.decode()}",
        f"Content-Length: {length}",
        "Accept: application/json",
        "Connection: close",
    ]
    return b"POST /upload HTTP/1.1\r\n" + header_lines(port, lines, headers) + head


def part_head(filename: str) -> bytes:
    """The multipart envelope before a file's bytes."""
    return (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="' + FIELD.encode() + b'"; '
        b'filename="' + filename.encode() + b'"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )


def payload(index: int, size: int, block: bytes) -> bytes:
    """Distinct payloads from one random block: the first 8 bytes number them."""
    return index.to_bytes(8, "big") + block[8:size]


def burst_body(index: int, size: int, block: bytes) -> bytes:
    """The whole request body of the burst's upload number ``index``."""
    return part_head(f"burst-{index}.bin") + payload(index, size, block) + TAIL


def sha256_hex(*pieces: bytes | memoryview) -> str:
    """The SHA-256 of the pieces, one after the other."""
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


async def read_message(
    loop: asyncio.AbstractEventLoop, sock: socket.socket
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Status, headers (lower-case names) and body of one final response (interim 1xx ones
    skipped), framed as HTTP/1.1 frames it (no body for 204 and 304; Content-Length; chunked;
    else up to the connection's end), so that the connection can carry the next request."""
    data = bytearray()
    status = 100
    while 100 <= status < 200:
        while b"\r\n\r\n" not in data:
            chunk = await loop.sock_recv(sock, 65536)
            if not chunk:
                raise ConnectionError("closed before the response headers")
            data += chunk
        head, _, rest = bytes(data).partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        data = bytearray(rest)
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    body = data
    if status in (204, 304):
        return status, headers, b""
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while (payload := _unchunk(bytes(body))) is None:
            chunk = await loop.sock_recv(sock, 65536)
            if not chunk:
                raise ConnectionError("closed inside a chunked body")
            body += chunk
        return status, headers, payload
    length = int(headers[b"content-length"]) if b"content-length" in headers else None
    while length is None or len(body) < length:
        chunk = await loop.sock_recv(sock, 65536)
        if not chunk:
            break
        body += chunk
    return status, headers, bytes(body)


def _unchunk(data: bytes) -> bytes | None:
    """The payload of a whole chunked body (no trailers), or None while it is not whole."""
    pieces: list[bytes] = []
    position = 0
    while (line_end := data.find(b"\r\n", position)) >= 0:
        size = int(data[position:line_end].split(b";")[0], 16)
        if size == 0:
            return b"".join(pieces) if data.endswith(b"\r\n\r\n", line_end) else None
        position = line_end + 2 + size + 2
        if position > len(data):
            return None
        pieces.append(data[line_end + 2 : position - 2])
    return None


async def read_response(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of one response."""
    status, _, body = await read_message(loop, sock)
    return status, body


async def exchange(port: int, parts: list[bytes | memoryview], *, timeout: float) -> Exchange:
    """Send ``parts`` on a new connection and read the answer."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, ("127.0.0.1", port))
            for part in parts:
                await loop.sock_sendall(sock, part)
            status, body = await read_response(loop, sock)
    except (OSError, TimeoutError) as error:
        return 0, repr(error).encode(), time.perf_counter() - started
    finally:
        sock.close()
    return status, body, time.perf_counter() - started


def burst_process(
    port: int, headers: dict[str, str], count: int, size: int, block: bytes, conn: Connection
) -> None:
    """Send ``count`` concurrent uploads; report answers, start, end and own CPU seconds."""
    requests = []
    for index in range(count):
        body = burst_body(index, size, block)
        requests.append(upload_request(port, headers, b"", len(body)) + body)
    conn.send("ready")
    conn.recv()

    async def run() -> list[Exchange]:
        jobs = [exchange(port, [memoryview(r)], timeout=MAX_PHASE_SECONDS) for r in requests]
        return await asyncio.gather(*jobs)

    cpu, started = own_cpu_seconds(), time.perf_counter()
    results = uvloop.run(run())
    conn.send((results, started, time.perf_counter(), own_cpu_seconds() - cpu))


BIG_HEAD = part_head("big.bin")


def big_payload(size: int, block: bytes) -> list[memoryview]:
    """The big upload's ``size`` bytes, as views of ``block`` repeated."""
    view = memoryview(block)
    return [view[: min(len(block), size - offset)] for offset in range(0, size, len(block))]


def big_parts(
    port: int, headers: dict[str, str], size: int, block: bytes
) -> list[bytes | memoryview]:
    """One upload of ``size`` bytes of ``block`` repeated: request head, blocks, tail."""
    length = len(BIG_HEAD) + size + len(TAIL)
    first = upload_request(port, headers, BIG_HEAD, length)
    return [first, *big_payload(size, block), TAIL]


def big_process(
    port: int, headers: dict[str, str], size: int, block: bytes, conn: Connection
) -> None:
    """Stream one upload of ``size`` bytes; report the answer, start, end and own CPU seconds."""
    parts = big_parts(port, headers, size, block)
    conn.send("ready")
    conn.recv()
    cpu, started = own_cpu_seconds(), time.perf_counter()
    result = uvloop.run(exchange(port, parts, timeout=MAX_PHASE_SECONDS))
    conn.send((result, started, time.perf_counter(), own_cpu_seconds() - cpu))


def page_request(port: int, method: str, path: str, headers: dict[str, str]) -> bytes:
    """A request for a page (or another cheap answer) on a connection of its own."""
    request_line = f"{method} {path} HTTP/1.1\r\n".encode()
    return request_line + header_lines(port, ["Connection: close"], headers)


def pages_process(port: int, request: bytes, stop: Event, conn: Connection) -> None:
    """Send ``request`` every 20 ms on a new connection until told to stop; report (sent,
    latency, status) of each."""

    async def run() -> list[tuple[float, float, int]]:
        samples = []
        start = time.perf_counter()
        for tick in range(int(MAX_PHASE_SECONDS / PAGE_INTERVAL)):
            if stop.is_set():
                break
            delay = start + tick * PAGE_INTERVAL - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            status, _, seconds = await exchange(port, [request], timeout=30)
            samples.append((sent, seconds, status))
        return samples

    conn.send("ready")
    conn.send(uvloop.run(run()))


@contextmanager
def child(target: Callable[..., None], *args: Any) -> Iterator[Connection]:
    """Fork ``target(*args, pipe)``; yield the parent's end once the child says it is ready."""
    parent_end, child_end = mp.Pipe()
    process = mp.get_context("fork").Process(target=target, args=(*args, child_end), daemon=True)
    process.start()
    try:
        if not parent_end.poll(120):
            raise RuntimeError(f"{target.__name__} did not get ready")
        assert parent_end.recv() == "ready"
        yield parent_end
    finally:
        process.join(timeout=MAX_PHASE_SECONDS)
        if process.is_alive():
            process.kill()
