"""`quart-app serve` (as `make serve` runs it, 2 workers): shutdown, crashes and the protocol."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from quart_app.upload_engine import UploadStore

from .support.app_settings import API_KEY, server_env
from .support.live_server import (
    ServerProcess,
    free_port,
    quart_app_serve_to_the_end,
    quart_app_server,
)
from .support.raw_http import (
    WAIT_SECONDS,
    RawResponse,
    eventually,
    multipart,
    read_raw_response,
    request_head,
)
from .support.workers import one_connection_per_worker

pytestmark = [pytest.mark.server, pytest.mark.slow]

AUTH = {"X-API-Key": API_KEY, "Accept": "application/json"}
GRACE = 3.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """The app under `quart-app serve` with a short graceful timeout."""
    extra = ("--graceful-timeout", str(GRACE))
    with quart_app_server(server_env(tmp_path), extra_args=extra) as running:
        yield running


def temp_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "uploads" / ".tmp").glob("*.part"))


def stored(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "uploads").iterdir() if p.is_file())


async def exited(process: subprocess.Popen[bytes], within: float) -> int:
    """The exit code, once the process has exited (bounded wait)."""
    return await asyncio.to_thread(process.wait, within)


async def start_upload(
    server: ServerProcess, body: bytes, sent: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request_head(server.port, length=len(body), api_key=API_KEY) + body[:sent])
    await writer.drain()
    return reader, writer


async def trickle(writer: asyncio.StreamWriter, body: bytes, *, seconds: float) -> None:
    """Send `body` evenly over about `seconds` (stops quietly if the server hangs up)."""
    pieces = 50
    step = max(len(body) // pieces, 1)
    with suppress(ConnectionError):
        for start in range(0, len(body), step):
            writer.write(body[start : start + step])
            await writer.drain()
            await asyncio.sleep(seconds / pieces)


async def test_sigterm_lets_an_upload_in_flight_finish(
    server: ServerProcess, tmp_path: Path
) -> None:
    content = os.urandom(600_000)
    body = multipart(("finishing.bin", content))
    reader, writer = await start_upload(server, body, 100_000)
    await eventually(lambda: temp_files(tmp_path), "the upload is being written")
    server.process.send_signal(signal.SIGTERM)
    await trickle(writer, body[100_000:], seconds=GRACE / 3)
    response = await read_raw_response(reader)
    writer.close()
    assert server.process.poll() is None, "the server waits for the upload in flight"
    assert response.status == 201
    [entry] = response.json()["files"]
    assert entry["sha256"] == hashlib.sha256(content).hexdigest()
    assert await exited(server.process, WAIT_SECONDS) == 0
    assert [p.name for p in stored(tmp_path)] == [entry["name"]]
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("uploads", [1, 2], ids=["one-busy-one-idle", "both-busy"])
async def test_sigterm_answers_uploads_that_cannot_finish_in_time_with_503(
    server: ServerProcess, tmp_path: Path, uploads: int
) -> None:
    body = multipart(("slow.bin", os.urandom(2_000_000)))
    connections = [await start_upload(server, body, 50_000) for _ in range(uploads)]
    await eventually(lambda: len(temp_files(tmp_path)) == uploads, "the uploads are written")
    stopping = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    senders = [
        asyncio.ensure_future(trickle(writer, body[50_000:], seconds=6 * GRACE))
        for _, writer in connections
    ]
    responses = [await read_raw_response(reader) for reader, _ in connections]
    answered = time.monotonic() - stopping
    for sender in senders:
        sender.cancel()
    for _, writer in connections:
        writer.close()
    assert [r.status for r in responses] == [503] * uploads
    assert all(r.headers["retry-after"].isdigit() for r in responses)
    assert all(r.json()["error"] == "Service Unavailable" for r in responses)
    assert answered < GRACE + 1, "answered before the graceful timeout, not cut off"
    assert await exited(server.process, WAIT_SECONDS) == 0
    assert stored(tmp_path) == [] and temp_files(tmp_path) == []


async def test_sigint_stops_the_server_too(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.get("/")).status_code == 200
    server.process.send_signal(signal.SIGINT)
    assert await exited(server.process, WAIT_SECONDS) == 0


async def test_a_killed_worker_is_replaced_and_the_store_reconciled(
    tmp_path: Path,
) -> None:
    contents = [os.urandom(300_000 + i) for i in range(24)]
    env = server_env(tmp_path, UPLOAD_FSYNC="true")
    with quart_app_server(env) as running:
        workers = running.worker_pids()
        assert len(workers) == 2
        limits = httpx.Limits(max_connections=24)
        async with httpx.AsyncClient(
            base_url=running.base_url, timeout=WAIT_SECONDS, limits=limits
        ) as http:

            async def upload(i: int) -> httpx.Response | None:
                files = [("wordlist-upload", (f"{i}.bin", contents[i]))]
                try:
                    return await http.post("/upload", headers=AUTH, files=files)
                except httpx.TransportError:
                    return None  # its worker was killed mid-request

            burst = asyncio.gather(*(upload(i) for i in range(len(contents))))
            await eventually(lambda: temp_files(tmp_path), "uploads are arriving")
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
            answers = await burst
            await eventually(
                lambda: len(set(running.worker_pids()) - set(workers)) == 2,
                "both workers are replaced",
            )
            after = await http.post(
                "/upload", headers=AUTH, files=[("wordlist-upload", ("after.bin", b"alive"))]
            )
            assert after.status_code == 201
    # The listing, the files, their metadata and the ledger agree, whatever the kills hit.
    store = UploadStore(tmp_path / "uploads", fsync=False)
    await store.prepare()
    page = await store.list_page(1, 100)
    on_disk = {p.name for p in stored(tmp_path)}
    assert on_disk == {f.name for f in page.files}
    for file in page.files:
        data = (tmp_path / "uploads" / file.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == file.sha256
    assert await store.used_bytes() == sum(f.size for f in page.files)
    acknowledged = [a.json()["files"][0]["name"] for a in answers if a and a.status_code == 201]
    assert set(acknowledged) <= on_disk, "every 201 stays stored"
    assert temp_files(tmp_path) == []
    await store.close()


async def test_expect_100_continue_is_answered_only_once_the_app_reads_the_body(
    server: ServerProcess,
) -> None:
    body = multipart(("a.bin", b"accepted"))
    expect = "Expect: 100-continue\r\n"

    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request_head(server.port, length=len(body), extra=expect, api_key="wrong"))
    await writer.drain()
    refused = await read_raw_response(reader)
    writer.close()
    assert refused.status == 403, "refused on its headers, without asking for the body"

    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request_head(server.port, length=len(body), extra=expect, api_key=API_KEY))
    await writer.drain()
    interim = await read_raw_response(reader)
    writer.write(body)
    await writer.drain()
    final = await read_raw_response(reader)
    writer.close()
    assert (interim.status, final.status) == (100, 201)


async def server_answer(server: ServerProcess, request: bytes) -> RawResponse:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request)
    await writer.drain()
    answer = await read_raw_response(reader)
    writer.close()
    return answer


async def test_answers_the_server_makes_itself_carry_the_security_headers(
    server: ServerProcess,
) -> None:
    malformed = await server_answer(
        server, b"GET / HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n"
    )
    oversized = await server_answer(
        server, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100_000 + b"\r\n\r\n"
    )
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        page = await http.get("/")
    assert (malformed.status, oversized.status) == (400, 431)
    for answer in (malformed.headers, oversized.headers, page.headers):
        assert answer["x-content-type-options"] == "nosniff"
        assert answer["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer["content-security-policy"]
        assert "server" not in answer
    assert page.headers.get_list("x-frame-options") == ["DENY"], "not sent twice"


def test_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = quart_app_serve_to_the_end(server_env(tmp_path), "--bind", f"127.0.0.1:{port}")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"quart-app: Cannot listen on 127.0.0.1:{port}: the address is already in use. Stop "
        "the other server, or choose another address with --bind HOST:PORT."
    ]


def test_a_store_that_does_not_answer_stops_the_start_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    env = server_env(
        tmp_path,
        UPLOAD_STORAGE="s3",
        S3_ENDPOINT_URL=f"http://127.0.0.1:{dead_port}",
        S3_BUCKET="uploads",
    )
    env |= {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test-secret"}
    started = time.monotonic()
    result = quart_app_serve_to_the_end(env, "--bind", f"127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert time.monotonic() - started < 30, "stopped at once, not after retrying workers"
    assert "Traceback" not in result.stderr
    reasons = [line for line in result.stderr.splitlines() if "Cannot start:" in line]
    assert reasons, result.stderr
    assert reasons[0].endswith(
        f"Cannot start: the upload store does not answer (Could not connect to the endpoint "
        f'URL: "http://127.0.0.1:{dead_port}/uploads?list-type=2&prefix=uploads%2F'
        '&delimiter=%2F&encoding-type=url")'
    )
    assert "The app could not start; stopping (see the error above)" in result.stderr


def test_an_upload_folder_that_cannot_be_made_stops_the_start_with_one_line(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the upload folder should be")
    env = server_env(tmp_path, UPLOAD_FOLDER=str(blocker / "uploads"))
    result = quart_app_serve_to_the_end(env, "--bind", f"127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Cannot start: the upload folder cannot be prepared ([Errno 20] Not a directory:" in (
        result.stderr
    ), result.stderr
    assert blocker.read_text() == "a file where the upload folder should be"


def upload_request(port: int, content: bytes) -> bytes:
    body = multipart(("q.bin", content))
    return request_head(port, length=len(body), api_key=API_KEY) + body


def delete_request(port: int, name: str) -> bytes:
    return (
        f"DELETE /uploads/{name} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"X-API-Key: {API_KEY}\r\nAccept: application/json\r\n\r\n"
    ).encode()


async def test_quota_is_decided_on_the_shared_ledger_by_either_worker(tmp_path: Path) -> None:
    with quart_app_server(server_env(tmp_path, UPLOAD_QUOTA="100000")) as running:
        first, second = await one_connection_per_worker(running)
        filling = await first.send(upload_request(running.port, b"a" * 90_000))
        assert filling.status == 201
        refused = await second.send(upload_request(running.port, b"b" * 50_000))
        assert refused.status == 507
        name = filling.json()["files"][0]["name"]
        assert (await first.send(delete_request(running.port, name))).status == 204
        # The other worker has stored nothing since, and still sees the room made.
        exactly = await second.send(upload_request(running.port, b"c" * 100_000))
        assert exactly.status == 201, "a file that fits the quota exactly is taken"
        for connection in (first, second):
            connection.close()
