"""The upload engine behind real Hypercorn (in this process, so that faults can be injected)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from quart_app import create_app, file_responses, hypercorn_adapters
from quart_app.backpressure import BoundedBody
from quart_app.upload_engine import durable_files
from quart_app.upload_engine import temp_files as temp_files_module

from .support.app_settings import API_KEY, app_config
from .support.descriptors import descriptors_open_under
from .support.faults import no_space
from .support.live_server import PROJECT_ROOT, free_port
from .support.raw_http import (
    WAIT_SECONDS,
    eventually,
    multipart,
    read_raw_response,
    read_response,
)
from .support.raw_http import request_head as _request_head
from .support.upload_backends import UploadBackend, upload_backend_for

pytestmark = pytest.mark.server


def request_head(port: int, *, length: int | None, extra: str = "") -> bytes:
    return _request_head(port, length=length, extra=extra, api_key=API_KEY)


AUTH = {"X-API-Key": API_KEY, "Accept": "application/json"}


@dataclass
class Served:
    base_url: str
    port: int
    app: Quart
    backend: UploadBackend
    adapted: bool = False

    @property
    def uploads(self) -> Path:
        return self.backend.uploads

    def stored(self) -> list[str]:
        return self.backend.stored()

    def temp_files(self) -> list[str]:
        """What is being received: temp files, or the S3 store's multipart uploads."""
        return self.backend.in_progress()


@asynccontextmanager
async def hypercorn_serving(
    tmp_path: Path,
    *,
    adapted: bool = False,
    backend: UploadBackend | None = None,
    **overrides: Any,
) -> AsyncIterator[Served]:
    """Serve a fresh app with the project's hypercorn.toml on a free loopback port: with
    Hypercorn as it is, or ``adapted`` as ``quart-app serve`` runs it; storing into
    ``backend`` (the local folder if none)."""
    backend = backend or UploadBackend.local(tmp_path / "uploads")
    with ExitStack() as undo:
        if adapted:
            patch = undo.enter_context(pytest.MonkeyPatch.context())
            for module, name, replacement in hypercorn_adapters.REPLACEMENTS:
                patch.setattr(module, name, replacement)
        async with _serving(tmp_path, backend, **overrides) as served:
            served.adapted = adapted
            yield served


@asynccontextmanager
async def _serving(
    tmp_path: Path, backend: UploadBackend, **overrides: Any
) -> AsyncIterator[Served]:
    settings = {**backend.settings, **overrides}
    app = create_app(app_config(tmp_path, UPLOAD_FSYNC=False, **settings))
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
        yield Served(f"http://127.0.0.1:{port}", port, app, backend)
    finally:
        shutdown.set()
        await asyncio.wait_for(server, WAIT_SECONDS)


@pytest.fixture(
    params=[
        pytest.param((False, "local"), id="hypercorn"),
        pytest.param((True, "local"), id="adapted"),
        pytest.param((True, "s3"), id="adapted-s3", marks=pytest.mark.slow),
        pytest.param((True, "s3-postgresql"), id="adapted-s3-postgresql", marks=pytest.mark.slow),
    ]
)
async def served(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Served]:
    """The app served by Hypercorn as it is, or adapted, storing locally or into S3 (with the
    quota's ledger in the folder, or in PostgreSQL)."""
    adapted, store = request.param
    backend = upload_backend_for(store, tmp_path / "uploads", request, monkeypatch)
    async with hypercorn_serving(tmp_path, adapted=adapted, backend=backend) as running:
        yield running


@pytest.fixture(params=[False, True], ids=["hypercorn", "adapted"])
async def served_locally(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    """The app storing into its folder (for tests of the folder's files and descriptors)."""
    async with hypercorn_serving(tmp_path, adapted=request.param) as running:
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
    assert served.backend.content(stored["name"]) == content


# Where the writes of a request cut it: its head, body and a second request on the same
# connection, arriving together or apart, each way the server must find their borders.
WRITE_CUTS = {
    "all in one write": lambda head, body, after: [head + body + after],
    "head, then body with the next request": lambda head, body, after: [head, body + after],
    "head with half the body": lambda head, body, after: [
        head + body[: len(body) // 2],
        body[len(body) // 2 :] + after,
    ],
    "each apart": lambda head, body, after: [head, body, after],
}


@pytest.mark.parametrize("cut", WRITE_CUTS, ids=list(WRITE_CUTS))
async def test_an_upload_and_the_request_after_it_are_both_answered(
    served: Served, cut: str
) -> None:
    content = os.urandom(700_000)
    body = multipart(("a.bin", content))
    after = f"GET /about HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    for piece in WRITE_CUTS[cut](request_head(served.port, length=len(body)), body, after):
        writer.write(piece)
        await writer.drain()
    upload = await read_raw_response(reader)
    page = await read_raw_response(reader)
    writer.close()
    assert (upload.status, page.status) == (201, 200)
    assert upload.json()["files"][0]["sha256"] == hashlib.sha256(content).hexdigest()
    assert b"About us" in page.body


async def test_a_chunked_upload_is_stored_intact(served: Served) -> None:
    content = os.urandom(1_500_000)
    body = multipart(("chunked.bin", content))
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(request_head(served.port, length=None))
    for start in range(0, len(body), 100_000):
        piece = body[start : start + 100_000]
        writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    status, answer = await read_response(reader)
    writer.close()
    assert status == 201
    assert answer["files"][0]["sha256"] == hashlib.sha256(content).hexdigest()


async def test_an_upload_takes_the_body_lane_when_adapted(
    served_locally: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    fed: list[int] = []
    put: list[int] = []
    original_feed, original_put = BoundedBody.feed, BoundedBody.put

    def recording_feed(self: BoundedBody, data: bytes) -> bool:
        fed.append(len(data))
        return original_feed(self, data)

    async def recording_put(self: BoundedBody, data: bytes) -> None:
        put.append(len(data))
        await original_put(self, data)

    monkeypatch.setattr(BoundedBody, "feed", recording_feed)
    monkeypatch.setattr(BoundedBody, "put", recording_put)
    content = os.urandom(2_000_000)
    async with httpx.AsyncClient(base_url=served_locally.base_url, timeout=WAIT_SECONDS) as http:
        response = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("a.bin", content))]
        )
    assert response.json()["files"][0]["sha256"] == hashlib.sha256(content).hexdigest()
    body_bytes = len(content) + 200  # and the multipart envelope, less than 200 bytes
    if served_locally.adapted:
        assert len(content) < sum(fed) < body_bytes and sum(put) == 0
    else:
        assert len(content) < sum(put) < body_bytes and fed == []


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


@pytest.mark.slow
async def test_server_shutdown_mid_upload_leaves_nothing(
    tmp_path: Path, upload_backend: UploadBackend
) -> None:
    async with hypercorn_serving(tmp_path, backend=upload_backend) as running:
        writer = await upload_partly(running)
    writer.close()
    assert running.temp_files() == []
    assert running.stored() == []


async def test_declared_length_over_the_limit_is_413_before_reading(
    tmp_path: Path, upload_backend: UploadBackend
) -> None:
    async with hypercorn_serving(
        tmp_path, backend=upload_backend, UPLOAD_MAX_REQUEST_SIZE=1000
    ) as running:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        writer.write(request_head(running.port, length=2000))
        await writer.drain()
        status, body = await read_response(reader)
        writer.close()
        assert (status, body["status"], body["error"]) == (413, 413, "Request Entity Too Large")
        assert running.stored() == [] and running.temp_files() == []


async def test_chunked_body_over_the_limit_is_413_and_nothing_kept(
    tmp_path: Path, upload_backend: UploadBackend
) -> None:
    async with hypercorn_serving(
        tmp_path, backend=upload_backend, UPLOAD_MAX_REQUEST_SIZE=100_000
    ) as running:
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


async def test_idle_client_gets_408_and_nothing_kept(
    tmp_path: Path, upload_backend: UploadBackend
) -> None:
    async with hypercorn_serving(
        tmp_path, backend=upload_backend, UPLOAD_IDLE_TIMEOUT=0.3
    ) as running:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        body = multipart(("slow.bin", b"z" * 10_000))
        writer.write(request_head(running.port, length=len(body)) + body[:5000])
        await writer.drain()
        status, body_json = await read_response(reader)
        writer.close()
        assert (status, body_json["error"]) == (408, "Request Timeout")
        assert running.stored() == [] and running.temp_files() == []


async def test_full_disk_is_507_and_nothing_kept(
    served_locally: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(temp_files_module, "hash_and_write", no_space)
    async with httpx.AsyncClient(base_url=served_locally.base_url, timeout=WAIT_SECONDS) as http:
        response = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("a.bin", b"data" * 1000))]
        )
    assert response.status_code == 507
    assert response.json()["error"] == "Insufficient Storage"
    assert served_locally.stored() == [] and served_locally.temp_files() == []


async def test_quota_is_507_and_nothing_kept(
    tmp_path: Path, upload_backend: UploadBackend
) -> None:
    async with (
        hypercorn_serving(tmp_path, backend=upload_backend, UPLOAD_QUOTA=50_000) as running,
        httpx.AsyncClient(base_url=running.base_url, timeout=WAIT_SECONDS) as http,
    ):
        fits = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("a.bin", b"a" * 30_000))]
        )
        over = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("b.bin", b"b" * 30_000))]
        )
        assert (fits.status_code, over.status_code) == (201, 507)
        assert running.stored() == [fits.json()["files"][0]["name"]]
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


@pytest.mark.slow
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
        assert served.backend.content(stored["name"]) == content
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
    served_locally: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    most_held = largest_piece = 0
    original_append = BoundedBody.append
    original_write = temp_files_module.hash_and_write

    def recording_append(self: BoundedBody, data: bytes) -> None:
        nonlocal most_held, largest_piece
        original_append(self, data)
        # Buffered, and taken by the engine but not yet written.
        most_held = max(most_held, self._buffered + self._taken)
        largest_piece = max(largest_piece, len(data))

    def slow_write(*args: Any) -> None:
        time.sleep(0.002)  # a slow disk, in the worker thread
        original_write(*args)

    monkeypatch.setattr(BoundedBody, "append", recording_append)
    monkeypatch.setattr(temp_files_module, "hash_and_write", slow_write)
    content = b"q" * (8 * 1024 * 1024)
    async with httpx.AsyncClient(base_url=served_locally.base_url, timeout=60) as http:
        response = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("big.bin", content))]
        )
    assert response.status_code == 201
    high_water = served_locally.app.config["UPLOAD_BUFFER_SIZE"]
    # At most one piece as the server received it past the mark, and no piece above 256 KiB.
    assert 0 < largest_piece <= 256 * 1024
    assert 0 < most_held <= high_water + largest_piece


async def download_outcome(http: httpx.AsyncClient, url: str, content: bytes) -> str:
    """GET `url` and say how it answered: "200 whole", "200 short", "200 damaged" or the status."""
    try:
        response = await http.get(url, headers=AUTH)
    except httpx.RemoteProtocolError:
        return "200 short"
    if response.status_code != 200:
        return str(response.status_code)
    if len(response.content) != len(content):
        return "200 short"
    whole = hashlib.sha256(response.content).digest() == hashlib.sha256(content).digest()
    return "200 whole" if whole else "200 damaged"


@pytest.mark.slow
async def test_download_racing_a_delete_is_whole_or_404(served_locally: Served) -> None:
    content = bytes(range(256)) * 300
    outcomes: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=served_locally.base_url, timeout=WAIT_SECONDS) as http:
        for _ in range(150):
            upload = await http.post(
                "/upload", headers=AUTH, files=[("wordlist-upload", ("race.bin", content))]
            )
            url = upload.json()["files"][0]["url"]
            outcome, deleted = await asyncio.gather(
                download_outcome(http, url, content), http.delete(url, headers=AUTH)
            )
            assert deleted.status_code == 204
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert set(outcomes) <= {"200 whole", "404"}, outcomes
    assert descriptors_open_under(served_locally.uploads) == []


async def upload_over_http(http: httpx.AsyncClient, content: bytes) -> str:
    """Store `content` through the API; return its download URL."""
    response = await http.post(
        "/upload", headers=AUTH, files=[("wordlist-upload", ("data.bin", content))]
    )
    assert response.status_code == 201
    return str(response.json()["files"][0]["url"])


async def test_served_downloads_have_true_lengths_and_leave_no_file_open(
    served_locally: Served,
) -> None:
    content = bytes(range(256)) * 4096
    async with httpx.AsyncClient(base_url=served_locally.base_url, timeout=WAIT_SECONDS) as http:
        url = await upload_over_http(http, content)
        whole = await http.get(url, headers=AUTH)
        head = await http.head(url, headers=AUTH)
        ranges = await http.get(url, headers={**AUTH, "Range": "bytes=0-9,-300000"})
        for _ in range(20):
            await http.get(url, headers={**AUTH, "Range": "bytes=7-"})
            await http.get(url, headers={**AUTH, "If-None-Match": whole.headers["ETag"]})
            await http.get(url, headers={**AUTH, "Range": "bytes=2000000-"})
    assert whole.content == content
    assert head.headers["Content-Length"] == str(len(content)) and head.content == b""
    del head.headers["Date"], whole.headers["Date"]
    assert head.headers == whole.headers
    assert ranges.status_code == 206
    assert ranges.headers["Content-Length"] == str(len(ranges.content))
    assert ranges.content.count(b"Content-Range: bytes ") == 2
    assert descriptors_open_under(served_locally.uploads) == []


async def start_download(port: int, url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Send a GET for `url` on a new connection, without reading the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {API_KEY}\r\n\r\n".encode()
    )
    await writer.drain()
    return reader, writer


async def test_client_leaving_mid_download_closes_the_file(served_locally: Served) -> None:
    content = b"d" * (32 * 1024 * 1024)
    async with httpx.AsyncClient(base_url=served_locally.base_url, timeout=WAIT_SECONDS) as http:
        url = await upload_over_http(http, content)
    reader, writer = await start_download(served_locally.port, url)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT_SECONDS)
    assert head.startswith(b"HTTP/1.1 200")
    await asyncio.wait_for(reader.readexactly(1024 * 1024), WAIT_SECONDS)
    assert descriptors_open_under(served_locally.uploads) != []
    writer.close()
    await eventually(
        lambda: not descriptors_open_under(served_locally.uploads), "the file is closed"
    )


async def test_file_stays_open_until_a_read_cut_short_has_finished(
    served_locally: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with httpx.AsyncClient(base_url=served_locally.base_url, timeout=WAIT_SECONDS) as http:
        url = await upload_over_http(http, b"r" * 100_000)
    in_pread, release = threading.Event(), threading.Event()
    left_body = asyncio.Event()
    pread, leave_body = os.pread, file_responses._FileBody.__aexit__

    def held_pread(descriptor: int, length: int, offset: int) -> bytes:
        in_pread.set()
        release.wait(WAIT_SECONDS)
        return pread(descriptor, length, offset)

    async def recorded_leave_body(body: file_responses._FileBody, *exc_info: Any) -> None:
        await leave_body(body, *exc_info)
        left_body.set()

    monkeypatch.setattr(os, "pread", held_pread)
    monkeypatch.setattr(file_responses._FileBody, "__aexit__", recorded_leave_body)
    try:
        _reader, writer = await start_download(served_locally.port, url)
        assert await asyncio.to_thread(in_pread.wait, WAIT_SECONDS)
        writer.close()
        await asyncio.wait_for(left_body.wait(), WAIT_SECONDS)
        assert descriptors_open_under(served_locally.uploads) != []
    finally:
        release.set()
    await eventually(
        lambda: not descriptors_open_under(served_locally.uploads), "the file is closed"
    )


async def test_a_body_shorter_than_its_content_length_leaves_nothing(served: Served) -> None:
    body = multipart(("short.bin", b"s" * 200_000))
    _reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(request_head(served.port, length=len(body) + 50_000) + body)
    await writer.drain()
    await eventually(lambda: served.temp_files(), "the upload has started")
    writer.close()
    await eventually(lambda: not served.temp_files(), "the temp file is removed")
    assert served.stored() == []


async def test_a_body_longer_than_its_content_length_is_400_and_leaves_nothing(
    served: Served,
) -> None:
    body = multipart(("long.bin", b"l" * 200_000))
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(request_head(served.port, length=len(body) - 5_000) + body)
    await writer.drain()
    status, answer = await read_response(reader)
    writer.close()
    assert (status, answer["error"]) == (400, "Bad Request")
    await eventually(lambda: not served.temp_files(), "the temp file is removed")
    assert served.stored() == []


@pytest.mark.slow
async def test_a_client_gone_while_its_temp_file_is_created_leaves_nothing(
    served_locally: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    creating = threading.Event()
    real_create = durable_files.create_exclusive

    def slow_create(path: Path) -> int:
        creating.set()
        time.sleep(0.3)
        return real_create(path)

    monkeypatch.setattr(temp_files_module, "create_exclusive", slow_create)
    for _ in range(5):
        creating.clear()
        body = multipart(("gone.bin", b"g" * 1000))
        _reader, writer = await asyncio.open_connection("127.0.0.1", served_locally.port)
        writer.write(request_head(served_locally.port, length=len(body) + 1000) + body)
        await writer.drain()
        await asyncio.to_thread(creating.wait, WAIT_SECONDS)
        writer.transport.abort()  # a reset, while the file is being created
        await asyncio.sleep(0.4)
    await eventually(lambda: not served_locally.temp_files(), "every temp file is removed")
    assert served_locally.stored() == []


@pytest.mark.slow
async def test_a_large_download_may_outlast_the_response_timeout(tmp_path: Path) -> None:
    """Quart cuts a response off after RESPONSE_TIMEOUT; a file needs as long as it takes."""
    content = os.urandom(24 * 1024 * 1024)
    async with (
        hypercorn_serving(tmp_path, RESPONSE_TIMEOUT=1) as running,
        httpx.AsyncClient(base_url=running.base_url, timeout=WAIT_SECONDS) as http,
    ):
        url = await upload_over_http(http, content)
        received = bytearray()
        async with http.stream("GET", url, headers=AUTH) as download:
            async for chunk in download.aiter_bytes(1024 * 1024):
                received += chunk
                await asyncio.sleep(0.1)  # a slow reader: about 2.4 s for the whole file
    assert hashlib.sha256(received).digest() == hashlib.sha256(content).digest()


async def test_every_upload_gives_its_buffer_share_back(tmp_path: Path) -> None:
    async with (
        hypercorn_serving(tmp_path, UPLOAD_MAX_FILE_SIZE=2_000_000) as running,
        httpx.AsyncClient(base_url=running.base_url, timeout=WAIT_SECONDS) as http,
    ):
        budget = running.app.extensions["upload_buffer_budget"]
        stored = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("a.bin", b"a" * 50_000))]
        )
        refused = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("b.bin", b"b" * 3_000_000))]
        )
        writer = await upload_partly(running)
        assert budget.streams == 1
        writer.close()
        await eventually(lambda: budget.streams == 0, "the cut-off upload's share is back")
    assert (stored.status_code, refused.status_code) == (201, 413)


@pytest.mark.slow
async def test_presigned_downloads_send_the_client_to_the_store(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = upload_backend_for("s3", tmp_path / "uploads", request, monkeypatch)
    content = os.urandom(100_000)
    async with (
        hypercorn_serving(tmp_path, backend=backend, S3_PRESIGNED_DOWNLOADS=True) as running,
        httpx.AsyncClient(base_url=running.base_url, timeout=WAIT_SECONDS) as http,
    ):
        stored = await http.post(
            "/upload", headers=AUTH, files=[("wordlist-upload", ("café.bin", content))]
        )
        url = stored.json()["files"][0]["url"]
        answer = await http.get(url, headers=AUTH)
        assert answer.status_code == 307
        assert answer.headers["cache-control"] == "private, no-store"
        assert backend.seaweedfs is not None
        location = answer.headers["location"]
        assert location.startswith(backend.seaweedfs.endpoint_url + "/")
        fetched = await http.get(location)
        unauthorised = await http.get(url)
    assert fetched.status_code == 200 and fetched.content == content
    assert fetched.headers["content-disposition"] == (
        "attachment; filename=cafe.bin; filename*=UTF-8''caf%C3%A9.bin"
    )
    assert unauthorised.status_code == 401, "the link is given to callers only"


@pytest.mark.slow
async def test_files_are_stored_listed_downloaded_and_deleted_on_each_store(
    tmp_path: Path, upload_backend: UploadBackend
) -> None:
    contents = {f"{index}.txt": os.urandom(3000 + index) for index in range(5)}
    async with (
        hypercorn_serving(
            tmp_path,
            backend=upload_backend,
            UPLOADS_PER_PAGE=2,
            UPLOAD_ALLOWED_EXTENSIONS=["txt"],
        ) as running,
        httpx.AsyncClient(base_url=running.base_url, timeout=WAIT_SECONDS) as http,
    ):
        files = [("wordlist-upload", (name, content)) for name, content in contents.items()]
        together = await http.post("/upload", headers=AUTH, files=files)
        assert together.status_code == 201
        stored = {file["original_name"]: file for file in together.json()["files"]}
        refused = await http.post(
            "/upload",
            headers=AUTH,
            files=[*files[:1], ("wordlist-upload", ("x.exe", b"MZ"))],
        )
        assert refused.status_code == 415, "one refused file keeps the whole request out"
        pages = [(await http.get(f"/uploads?page={n}", headers=AUTH)).json() for n in (1, 2, 3)]
        listed = [file["name"] for page in pages for file in page["files"]]
        assert sorted(listed) == sorted(file["name"] for file in stored.values())
        assert [page["pages"] for page in pages] == [3, 3, 3]
        first = stored["0.txt"]
        part = await http.get(first["url"], headers={**AUTH, "Range": "bytes=10-19"})
        assert (part.status_code, part.content) == (206, contents["0.txt"][10:20])
        whole = await http.get(first["url"], headers=AUTH)
        assert whole.content == contents["0.txt"]
        assert (await http.delete(first["url"], headers=AUTH)).status_code == 204
        assert (await http.get(first["url"], headers=AUTH)).status_code == 404
    assert sorted(upload_backend.stored()) == sorted(
        file["name"] for name, file in stored.items() if name != "0.txt"
    )
    assert [upload_backend.content(stored[name]["name"]) for name in ("1.txt", "4.txt")] == [
        contents["1.txt"],
        contents["4.txt"],
    ]
    assert upload_backend.in_progress() == []
