"""quart-app serve's Hypercorn adapters with an app that reads its body as ASGI messages."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from quart_app import hypercorn_adapters

from .support.live_server import free_port
from .support.raw_http import WAIT_SECONDS, read_raw_response

pytestmark = pytest.mark.server

KEEP_ALIVE_SECONDS = 0.5


async def body_hashing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer each request with the SHA-256 of its body, read message by message; a POST to
    /refuse gets 413 before any of its body is read."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/refuse":
        headers = [(b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    digest = hashlib.sha256()
    while True:
        message = await receive()
        digest.update(message.get("body", b""))
        if not message.get("more_body", False):
            break
    answer = digest.hexdigest().encode()
    headers = [(b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture
async def port(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    for module, name, replacement in hypercorn_adapters.REPLACEMENTS:
        monkeypatch.setattr(module, name, replacement)
    config = Config()
    chosen = free_port()
    config.bind = [f"127.0.0.1:{chosen}"]
    config.accesslog = None
    config.graceful_timeout = 1
    config.keep_alive_timeout = KEEP_ALIVE_SECONDS
    shutdown = asyncio.Event()
    server = asyncio.ensure_future(
        serve(body_hashing_app, config, shutdown_trigger=shutdown.wait)  # type: ignore[arg-type]
    )
    for _ in range(int(WAIT_SECONDS / 0.02)):
        with suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", chosen)
            writer.close()
            break
        await asyncio.sleep(0.02)
    yield chosen
    shutdown.set()
    await asyncio.wait_for(server, WAIT_SECONDS)


def post(port: int, framing: str, path: str = "/hash") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{framing}\r\n\r\n".encode()


async def test_an_app_reading_messages_gets_every_body_whole(port: int) -> None:
    first, second = os.urandom(2_000_000), os.urandom(300_000)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(post(port, f"Content-Length: {len(first)}") + first)
    writer.write(post(port, "Transfer-Encoding: chunked"))
    writer.write(f"{len(second):x}\r\n".encode() + second + b"\r\n0\r\n\r\n")
    await writer.drain()
    answers = [await read_raw_response(reader) for _ in range(2)]
    writer.close()
    assert [answer.status for answer in answers] == [200, 200]
    assert all("connection" not in answer.headers for answer in answers), "kept alive"
    assert [answer.body.decode() for answer in answers] == [
        hashlib.sha256(first).hexdigest(),
        hashlib.sha256(second).hexdigest(),
    ]


async def test_an_idle_kept_alive_connection_is_closed_after_its_timeout(port: int) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for request in range(3):
        if request:
            await asyncio.sleep(KEEP_ALIVE_SECONDS / 2)  # busy again before the timeout
        writer.write(post(port, "Content-Length: 2") + b"hi")
        await writer.drain()
        answer = await read_raw_response(reader)
        started = loop.time()
        assert answer.body.decode() == hashlib.sha256(b"hi").hexdigest()
    assert await asyncio.wait_for(reader.read(), WAIT_SECONDS) == b"", "closed by the server"
    waited = loop.time() - started
    writer.close()
    assert KEEP_ALIVE_SECONDS * 0.8 < waited < WAIT_SECONDS


async def test_an_answer_before_the_whole_body_says_the_connection_closes(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(post(port, "Content-Length: 1000000", "/refuse") + b"x" * 100_000)
    await writer.drain()
    answer = await read_raw_response(reader)
    assert (answer.status, answer.headers.get("connection")) == (413, "close")
    assert await asyncio.wait_for(reader.read(), WAIT_SECONDS) == b"", "closed by the server"
    writer.close()
