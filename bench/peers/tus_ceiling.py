"""Bare ASGI tus servers that do the least a tus server must: the ceiling any Python tus server
on this machine is held to (issue 13's "at least 2 times tuspyserver" is judged against it).

No framework, no checks beyond the offset, no hashing, no fsync, no state file: a creation POST
makes an empty file and answers its Location; a PATCH whose Upload-Offset is the file's size
appends its body, chunk by chunk as the server delivers it, and answers 204 with the new
offset. Served by uvicorn (httptools, uvloop), the cheapest per request of Python's servers.

- ``durable_app``: what issue 13 asks of a tus server's bytes and no more: each chunk hashed
  (SHA-256, the upload's running hash kept in the worker) and written with one write(2) on the
  event loop, and each PATCH's bytes fdatasync'd before it is answered.
- ``write_app``: each chunk one write(2) on the event loop, to ``<id>`` in BENCH_UPLOAD_DIR.
- ``discard_app``: the same answers, the bytes only counted (each worker's offsets in memory).

Serve with: uvicorn --workers 2 bench.peers.tus_ceiling:write_app
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]

UPLOAD_DIR = Path(os.environ.get("BENCH_UPLOAD_DIR", "bench-uploads"))
_TUS = [(b"tus-resumable", b"1.0.0")]


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*_TUS, *headers, (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _header(scope: Message, name: bytes) -> bytes:
    return next((value for key, value in scope["headers"] if key == name), b"")


def _tus_ceiling(*, write: bool, durable: bool = False) -> ASGIApp:
    offsets: dict[str, int] = {}
    hashes: dict[str, Any] = {}

    async def patch(upload_id: str, offset: int, receive: Receive, send: Send) -> None:
        path = UPLOAD_DIR / upload_id
        known = (
            (path.stat().st_size if path.exists() else None) if write else offsets.get(upload_id)
        )
        if known is None:
            await _answer(send, 404, [])
            return
        if known != offset:
            await _answer(send, 409, [])
            return
        with open(path, "ab", buffering=0) if write else open(os.devnull, "wb") as file:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                offset += len(chunk)
                if durable:
                    hashes.setdefault(upload_id, hashlib.sha256()).update(chunk)
                if write:
                    file.write(chunk)
                if not message.get("more_body", False):
                    break
            if durable:
                os.fdatasync(file.fileno())
        offsets[upload_id] = offset
        await _answer(send, 204, [(b"upload-offset", str(offset).encode())])

    async def app(scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and path.rstrip("/") == "/files":
            upload_id = uuid.uuid4().hex
            if write:
                (UPLOAD_DIR / upload_id).touch()
            offsets[upload_id] = 0
            location = f"/files/{upload_id}".encode()
            await _answer(send, 201, [(b"location", location)])
        elif method == "PATCH" and path.startswith("/files/"):
            upload_id = path.removeprefix("/files/")
            offset = _header(scope, b"upload-offset")
            if not upload_id.isalnum() or not offset.isdigit():
                await _answer(send, 400, [])
                return
            await patch(upload_id, int(offset), receive, send)
        else:
            await _answer(send, 204, [(b"tus-version", b"1.0.0")])

    return app


durable_app = _tus_ceiling(write=True, durable=True)
write_app = _tus_ceiling(write=True)
discard_app = _tus_ceiling(write=False)
