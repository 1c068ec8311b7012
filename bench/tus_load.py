"""tus 1.0.0 upload traffic for the benchmark: each upload a creation POST, then PATCHes of a
fixed size on one kept-alive connection, as tus clients send them. Every request is built in
memory beforehand but for its path (the Location the server answers), and sent over a raw
socket from a forked process, so that the load generator costs the machine little."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

import uvloop

from .load import Exchange, header_lines, payload, read_message
from .process_tree import own_cpu_seconds

TUS_VERSION = "1.0.0"
OFFSET_TYPE = "application/offset+octet-stream"


def _metadata(filename: str, filetype: str) -> str:
    """An Upload-Metadata value: keys with base64 values."""
    pairs = {"filename": filename, "filetype": filetype}
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items()
    )


def creation_request(port: int, headers: dict[str, str], size: int, filename: str) -> bytes:
    """POST /files/ creating an upload of ``size`` bytes (creation extension)."""
    lines = [
        f"Tus-Resumable: {TUS_VERSION}",
        f"Upload-Length: {size}",
        f"Upload-Metadata: {_metadata(filename, 'application/octet-stream')}",
        "Content-Length: 0",
    ]
    return b"POST /files/ HTTP/1.1\r\n" + header_lines(port, lines, headers)


def patch_headers(port: int, headers: dict[str, str], offset: int, length: int) -> bytes:
    """A PATCH's header lines after its request line, which holds the upload's path."""
    lines = [
        f"Tus-Resumable: {TUS_VERSION}",
        f"Content-Type: {OFFSET_TYPE}",
        f"Upload-Offset: {offset}",
        f"Content-Length: {length}",
    ]
    return header_lines(port, lines, headers)


# A PATCH's header lines, its body and the Upload-Offset it should be answered, per chunk.
Patches = list[tuple[bytes, memoryview, bytes]]


def upload_requests(
    port: int, headers: dict[str, str], data: bytes, chunk: int, filename: str
) -> tuple[bytes, Patches]:
    """The creation request and the PATCHes that send ``data`` in chunks of ``chunk`` bytes."""
    view = memoryview(data)
    patches = []
    for offset in range(0, len(data), chunk):
        piece = view[offset : offset + chunk]
        end = str(offset + len(piece)).encode()
        patches.append((patch_headers(port, headers, offset, len(piece)), piece, end))
    return creation_request(port, headers, len(data), filename), patches


async def _connect(loop: asyncio.AbstractEventLoop, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    # A PATCH's head and body go in two sends: without this, Nagle's algorithm holds the
    # body's first bytes until the head is acknowledged (a delayed ACK: 40 ms), as tus clients'
    # HTTP stacks do not.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


async def tus_upload(
    port: int, creation: bytes, patches: Patches, *, timeout: float, reconnect: bool = False
) -> Exchange:
    """Create an upload, then send its PATCHes one after the other on one connection (a new
    one when the server closes it, or for each request if ``reconnect``). The last answer (204
    when every PATCH was taken, with the Upload-Offset expected), its body or what went wrong,
    and the seconds it all took."""
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    sock: socket.socket | None = None
    try:
        async with asyncio.timeout(timeout):
            sock = await _connect(loop, port)
            await loop.sock_sendall(sock, creation)
            status, headers, body = await read_message(loop, sock)
            if status != 201 or b"location" not in headers:
                return status, body, time.perf_counter() - started
            request_line = b"PATCH " + urlsplit(headers[b"location"]).path + b" HTTP/1.1\r\n"
            for header_lines, piece, end in patches:
                if reconnect or headers.get(b"connection", b"").lower() == b"close":
                    sock.close()
                    sock = await _connect(loop, port)
                await loop.sock_sendall(sock, request_line + header_lines)
                await loop.sock_sendall(sock, piece)
                status, headers, body = await read_message(loop, sock)
                if status != 204:
                    return status, body, time.perf_counter() - started
                if (offset := headers.get(b"upload-offset")) != end:
                    wrong = b"answered Upload-Offset %s, not %s" % (offset or b"none", end)
                    return 0, wrong, time.perf_counter() - started
    except (OSError, TimeoutError) as error:
        return 0, repr(error).encode(), time.perf_counter() - started
    finally:
        if sock is not None:
            sock.close()
    return 204, b"", time.perf_counter() - started


def tus_burst_process(
    port: int,
    headers: dict[str, str],
    count: int,
    size: int,
    chunk: int,
    block: bytes,
    timeout: float,
    reconnect: bool,
    conn: Connection,
) -> None:
    """Send ``count`` concurrent tus uploads of ``size`` bytes (distinct contents) in PATCHes of
    ``chunk`` bytes (each on a new connection if ``reconnect``); report the answers, start, end
    and own CPU seconds."""
    uploads = [
        upload_requests(port, headers, payload(index, size, block), chunk, f"tus-{index}.bin")
        for index in range(count)
    ]
    conn.send("ready")
    conn.recv()

    async def run() -> list[Exchange]:
        jobs = [
            tus_upload(port, creation, patches, timeout=timeout, reconnect=reconnect)
            for creation, patches in uploads
        ]
        return await asyncio.gather(*jobs)

    cpu, started = own_cpu_seconds(), time.perf_counter()
    results = uvloop.run(run())
    conn.send((results, started, time.perf_counter(), own_cpu_seconds() - cpu))
