"""Bare ASGI apps that do the least an upload server must: the ceiling the others are held to.

No framework and no multipart parsing: each POST's whole body (multipart envelope included) is
consumed chunk by chunk as Hypercorn delivers it, and answered 201 with its size and, where
hashed, its SHA-256. Any other request gets a one-line page.

- ``write_app``: hashes each chunk and writes it to a new file in BENCH_UPLOAD_DIR, inline.
- ``hash_app``: hashes each chunk only.
- ``discard_app``: counts the bytes only.

Serve with: hypercorn --config hypercorn.toml bench.peers.asgi_ceiling:write_app
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]

UPLOAD_DIR = Path(os.environ.get("BENCH_UPLOAD_DIR", "bench-uploads"))


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _answer(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _ceiling(*, write: bool, digest: bool) -> ASGIApp:
    async def app(scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _answer(send, 200, b"Hello World!", b"text/plain")
            return
        sha256 = hashlib.sha256()
        size = 0
        with ExitStack() as stack:
            # Unbuffered: each chunk is one write(2) on the event loop, as cheap as it gets.
            file = (
                stack.enter_context(open(UPLOAD_DIR / uuid.uuid4().hex, "wb", buffering=0))
                if write
                else None
            )
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if digest:
                    sha256.update(chunk)
                if file is not None:
                    file.write(chunk)
                if not message.get("more_body", False):
                    break
        answer: dict[str, object] = {"bytes": size}
        if digest:
            answer["sha256"] = sha256.hexdigest()
        await _answer(send, 201, json.dumps(answer).encode(), b"application/json")

    return app


write_app = _ceiling(write=True, digest=True)
hash_app = _ceiling(write=False, digest=True)
discard_app = _ceiling(write=False, digest=False)
