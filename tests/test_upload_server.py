"""The upload engine behind real Hypercorn (in this process, so that faults can be injected)."""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from quart_app import create_app
from quart_app.backpressure import BoundedBody
from quart_app.upload_engine import temp_files as temp_files_module

from .conftest import API_KEY, app_config
from .live_server import PROJECT_ROOT, free_port
from .support.raw_http import WAIT_SECONDS, eventually, multipart, read_response
from .support.raw_http import request_head as _request_head


def request_head(port: int, *, length: int | None, extra: str = "") -> bytes:
    return _request_head(port, length=length, extra=extra, api_key=API_KEY)


AUTH = {"X-API-Key": API_KEY, "Accept": "application/json"}


@dataclass
class Served:
    base_url: str
    port: int
    app: Quart
    uploads: Path

    def stored(self) -> list[Path]:
        return sorted(p for p in self.uploads.iterdir() if p.is_file())

    def temp_files(self) -> list[Path]:
        return sorted((self.uploads / ".tmp").glob("*.part"))


@asynccontextmanager
async def hypercorn_serving(tmp_path: Path, **overrides: Any) -> AsyncIterator[Served]:
    """Serve a fresh app with the project's hypercorn.toml on a free loopback port."""
    app = create_app(app_config(tmp_path, UPLOAD_FSYNC=False, **overrides))
    config = Config.from_toml(PROJECT_ROOT / "hypercorn.toml")
    port = free_port()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.graceful_timeout = 1
    config.workers = 1  # serve() runs one worker: this process
    shutdown = asyncio.Event()
    server = asyncio.ensure_future(serve(app, config, shutdown_trigger=shutdown.wait))
    for _ in range(int(WAIT_SECONDS / 0.02)):
        if server.done():
            server.result()
        with suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        await asyncio.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", port, app, tmp_path / "uploads")
    finally:
        shutdown.set()
        await asyncio.wait_for(server, WAIT_SECONDS)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with hypercorn_serving(tmp_path) as running:
        yield running


async def test_upload_over_http_is_stored_intact(served: Served) -> None:
    content = bytes(range(256)) * 4096
    async with httpx.AsyncClient(base_url=served.base_url, timeout=WAIT_SECONDS) as http:
        response = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("a.bin", content))]
        )
    assert response.status_code == 201
    [stored] = response.json()["files"]
    assert response.headers["location"] == stored["url"] == f"/uploads/{stored['name']}"
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()
    assert (served.uploads / stored["name"]).read_bytes() == content


async def test_upload_larger_than_max_content_length_streams_intact(tmp_path: Path) -> None:
    content = bytes(range(256)) * 2048
    async with (
        hypercorn_serving(tmp_path, MAX_CONTENT_LENGTH=1024) as running,
        httpx.AsyncClient(base_url=running.base_url, timeout=WAIT_SECONDS) as http,
    ):
        response = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("a.bin", content))]
        )
        assert response.status_code == 201
        assert response.json()["files"][0]["sha256"] == hashlib.sha256(content).hexdigest()
        login_form = await http.post("/login", data={"username": "x" * 2000})
        assert login_form.status_code == 413


async def upload_partly(running: Served) -> asyncio.StreamWriter:
    """Send 1 MiB of a 64 MiB upload and wait until the server is writing it."""
    _reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
    writer.write(request_head(running.port, length=64 * 1024 * 1024))
    writer.write(multipart(("big.bin", b"x" * 1024 * 1024))[:-30])
    await writer.drain()
    await eventually(lambda: running.temp_files(), "a temp file is written")
    return writer


async def test_client_disconnecting_mid_upload_leaves_nothing(served: Served) -> None:
    writer = await upload_partly(served)
    writer.close()
    await eventually(lambda: not served.temp_files(), "the temp file is removed")
    assert served.stored() == []


async def test_server_shutdown_mid_upload_leaves_nothing(tmp_path: Path) -> None:
    async with hypercorn_serving(tmp_path) as running:
        writer = await upload_partly(running)
    writer.close()
    assert running.temp_files() == []
    assert running.stored() == []


async def test_declared_length_over_the_limit_is_413_before_reading(tmp_path: Path) -> None:
    async with hypercorn_serving(tmp_path, UPLOAD_MAX_REQUEST_SIZE=1000) as running:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        writer.write(request_head(running.port, length=2000))
        await writer.drain()
        status, body = await read_response(reader)
        writer.close()
        assert (status, body["status"], body["error"]) == (413, 413, "Request Entity Too Large")
        assert running.stored() == [] and running.temp_files() == []


async def test_chunked_body_over_the_limit_is_413_and_nothing_kept(tmp_path: Path) -> None:
    async with hypercorn_serving(tmp_path, UPLOAD_MAX_REQUEST_SIZE=100_000) as running:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        writer.write(request_head(running.port, length=None))
        body = multipart(("big.bin", b"y" * 400_000))
        response = asyncio.ensure_future(read_response(reader))
        for start in range(0, len(body), 16_384):
            if response.done():
                break
            piece = body[start : start + 16_384]
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            with suppress(ConnectionError):
                await writer.drain()
        status, _ = await response
        writer.close()
        assert status == 413
        await eventually(lambda: not running.temp_files(), "the temp file is removed")
        assert running.stored() == []


async def test_idle_client_gets_408_and_nothing_kept(tmp_path: Path) -> None:
    async with hypercorn_serving(tmp_path, UPLOAD_IDLE_TIMEOUT=0.3) as running:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        body = multipart(("slow.bin", b"z" * 10_000))
        writer.write(request_head(running.port, length=len(body)) + body[:5000])
        await writer.drain()
        status, body_json = await read_response(reader)
        writer.close()
        assert (status, body_json["error"]) == (408, "Request Timeout")
        assert running.stored() == [] and running.temp_files() == []


async def test_full_disk_is_507_and_nothing_kept(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(temp_files_module, "_hash_and_write", no_space)
    async with httpx.AsyncClient(base_url=served.base_url, timeout=WAIT_SECONDS) as http:
        response = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("a.bin", b"data" * 1000))]
        )
    assert response.status_code == 507
    assert response.json()["error"] == "Insufficient Storage"
    assert served.stored() == [] and served.temp_files() == []


async def test_quota_is_507_and_nothing_kept(tmp_path: Path) -> None:
    async with (
        hypercorn_serving(tmp_path, UPLOAD_QUOTA=50_000) as running,
        httpx.AsyncClient(base_url=running.base_url, timeout=WAIT_SECONDS) as http,
    ):
        fits = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("a.bin", b"a" * 30_000))]
        )
        over = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("b.bin", b"b" * 30_000))]
        )
        assert (fits.status_code, over.status_code) == (201, 507)
        assert [p.name for p in running.stored()] == [fits.json()["files"][0]["name"]]
        assert running.temp_files() == []


async def test_digest_mismatch_is_422_and_nothing_kept(served: Served) -> None:
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    files = [("wordlist-upload", ("a.bin", b"data"))]
    async with httpx.AsyncClient(base_url=served.base_url, timeout=WAIT_SECONDS) as http:
        by_header = await http.post(
            "/upload", headers={**AUTH, "Repr-Digest": f"sha-256=:{wrong}:"}, files=files
        )
        by_field = await http.post(
            "/upload",
            headers=AUTH,
            data={"sha256": hashlib.sha256(b"other").hexdigest()},
            files=files,
        )
        right = await http.post(
            "/upload",
            headers=AUTH,
            data={"sha256": hashlib.sha256(b"data").hexdigest()},
            files=files,
        )
    assert (by_header.status_code, by_field.status_code, right.status_code) == (422, 422, 201)
    assert by_header.json()["error"] == "Unprocessable Entity"
    assert len(served.stored()) == 1 and served.temp_files() == []


async def test_200_concurrent_uploads_are_all_intact(served: Served) -> None:
    contents = [i.to_bytes(4, "big") * (1000 + 97 * i) for i in range(200)]
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=served.base_url, timeout=60, limits=limits) as http:
        responses = await asyncio.gather(
            *(
                http.post(
                    "/upload", headers=AUTH, files=[("wordlist-upload", (f"{i}.bin", content))]
                )
                for i, content in enumerate(contents)
            )
        )
    assert [r.status_code for r in responses] == [201] * 200
    for response, content in zip(responses, contents, strict=True):
        [stored] = response.json()["files"]
        assert stored["sha256"] == hashlib.sha256(content).hexdigest()
        assert (served.uploads / stored["name"]).read_bytes() == content
    assert len(served.stored()) == 200 and served.temp_files() == []


async def test_slow_upload_does_not_hold_up_other_requests(served: Served) -> None:
    content = b"slow but alive " * 20_000
    body = multipart(("slow.bin", content))
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(request_head(served.port, length=len(body)) + body[:1000])
    await writer.drain()
    await eventually(lambda: served.temp_files(), "the slow upload has started")
    async with httpx.AsyncClient(base_url=served.base_url, timeout=WAIT_SECONDS) as http:
        pages = [await http.get("/") for _ in range(5)]
        other = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("fast.bin", b"fast"))]
        )
    assert [p.status_code for p in pages] == [200] * 5 and other.status_code == 201
    for start in range(1000, len(body), 50_000):
        writer.write(body[start : start + 50_000])
        await writer.drain()
        await asyncio.sleep(0.01)
    status, answer = await read_response(reader)
    writer.close()
    assert status == 201
    assert answer["files"][0]["sha256"] == hashlib.sha256(content).hexdigest()


async def test_body_buffer_stays_bounded_when_the_disk_is_slow(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    most_buffered = 0
    original_put = BoundedBody.put
    original_write = temp_files_module._hash_and_write

    async def recording_put(self: BoundedBody, data: bytes) -> None:
        nonlocal most_buffered
        await original_put(self, data)
        most_buffered = max(most_buffered, self._buffered)

    def slow_write(*args: Any) -> None:
        time.sleep(0.002)  # a slow disk, in the worker thread
        original_write(*args)

    monkeypatch.setattr(BoundedBody, "put", recording_put)
    monkeypatch.setattr(temp_files_module, "_hash_and_write", slow_write)
    content = b"q" * (8 * 1024 * 1024)
    async with httpx.AsyncClient(base_url=served.base_url, timeout=60) as http:
        response = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("big.bin", content))]
        )
    assert response.status_code == 201
    high_water = served.app.config["UPLOAD_BUFFER_SIZE"]
    assert 0 < most_buffered <= high_water + 64 * 1024
