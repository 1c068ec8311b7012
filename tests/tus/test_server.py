"""tus at /files/ under `quart-app serve` with two workers: the protocol across workers, the
lock they share, the quota they share, connections cut mid-chunk and a restart mid-upload."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import httpx
import pytest

from ..support.app_settings import API_KEY, server_env
from ..support.live_server import quart_app_server
from ..support.raw_http import WAIT_SECONDS, eventually
from ..support.tus import (
    TUS_AUTH,
    checksum,
    chunk,
    creation,
    tus_files,
    upload_id,
)
from ..support.upload_backends import UploadBackend
from ..support.workers import KeptAlive, one_connection_per_worker

pytestmark = [pytest.mark.server, pytest.mark.slow]

LISTING = {"X-API-Key": API_KEY, "Accept": "application/json"}
KIB = 1024


def raw(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def head(connection: KeptAlive, location: str) -> dict[str, str]:
    answer = await connection.send(raw("HEAD", location, TUS_AUTH))
    assert answer.status == 200
    return answer.headers


async def test_the_protocol_holds_across_two_workers(
    tmp_path: Path, upload_backend: UploadBackend
) -> None:
    with quart_app_server(upload_backend.server_env(tmp_path)) as server:
        first, second = await one_connection_per_worker(server)
        try:
            options = await first.send(raw("OPTIONS", "/files/", {}))
            assert options.status == 204
            assert options.headers["tus-version"] == "1.0.0"
            assert "concatenation" in options.headers["tus-extension"]
            unversioned = await first.send(raw("POST", "/files/", {"Upload-Length": "1"}))
            assert (unversioned.status, unversioned.headers["tus-version"]) == (412, "1.0.0")
            created = await first.send(raw("POST", "/files/", creation(6, filename="a.txt")))
            assert created.status == 201
            location = created.headers["location"]
            assert created.headers["tus-resumable"] == "1.0.0"
            kept = await second.send(raw("PATCH", location, chunk(0), b"abc"))
            assert (kept.status, kept.headers["upload-offset"]) == (204, "3")
            assert (await head(first, location))["upload-offset"] == "3"
            stale = await first.send(raw("PATCH", location, chunk(0), b"abc"))
            assert stale.status == 409
            wrong_type = {**chunk(3), "Content-Type": "text/plain"}
            assert (await first.send(raw("PATCH", location, wrong_type, b"def"))).status == 415
            bad_sum = chunk(3, **{"Upload-Checksum": checksum("sha256", b"xyz")})
            assert (await first.send(raw("PATCH", location, bad_sum, b"def"))).status == 460
            assert (await head(second, location))["upload-offset"] == "3"
            done = await first.send(raw("PATCH", location, chunk(3), b"def"))
            assert done.status == 204
            stored_url = done.headers["content-location"]
            download = await second.send(raw("GET", stored_url, {"X-API-Key": API_KEY}))
            assert download.body == b"abcdef"
            other = await second.send(raw("POST", "/files/", creation(10)))
            gone = await first.send(raw("DELETE", other.headers["location"], TUS_AUTH))
            assert gone.status == 204
            missing = await second.send(raw("HEAD", other.headers["location"], TUS_AUTH))
            assert missing.status == 404
            anonymous = await first.send(raw("POST", "/files/", {"Tus-Resumable": "1.0.0"}))
            assert anonymous.status == 401
        finally:
            first.close()
            second.close()


async def test_one_writer_at_a_time_whichever_worker_and_a_cut_keeps_what_arrived(
    tmp_path: Path,
) -> None:
    uploads = tmp_path / "uploads"
    with quart_app_server(server_env(tmp_path)) as server:
        first, second = await one_connection_per_worker(server)
        try:
            created = await first.send(raw("POST", "/files/", creation(100 * KIB)))
            location = created.headers["location"]
            # A PATCH whose body stops part way: its request holds the upload's lock.
            head_only = raw("PATCH", location, chunk(0), b"")
            head_only = head_only.replace(
                b"Content-Length: 0", f"Content-Length: {100 * KIB}".encode()
            )
            first.writer.write(head_only + b"x" * (30 * KIB))
            await first.writer.drain()

            data = uploads / ".tus" / f"{upload_id(location)}.data"
            await eventually(
                lambda: data.stat().st_size == 30 * KIB, "the first worker writes what came"
            )
            # Even at a wrong offset the answer is 423: the lock comes before anything else.
            refused = await second.send(raw("PATCH", location, chunk(1), b"y"))
            assert refused.status == 423
            assert refused.json()["status"] == 423
            first.close()
            offset = (await head(second, location))["upload-offset"]
            assert offset == str(30 * KIB), "the bytes that arrived are kept"
            rest = b"z" * (70 * KIB)
            done = await second.send(raw("PATCH", location, chunk(30 * KIB), rest))
            assert done.status == 204
        finally:
            second.close()
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            [stored] = (await http.get("/uploads", headers=LISTING)).json()["files"]
        assert stored["sha256"] == hashlib.sha256(b"x" * (30 * KIB) + rest).hexdigest()
    assert [name for name in tus_files(uploads) if name.endswith(".data")] == []


async def test_the_quota_holds_under_16_concurrent_creations_on_two_workers(
    tmp_path: Path,
) -> None:
    with quart_app_server(server_env(tmp_path, UPLOAD_QUOTA="1000")) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=WAIT_SECONDS) as http:
            answers = await asyncio.gather(
                *(http.post("/files/", headers=creation(100)) for _ in range(16))
            )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * 10 + [507] * 6
    assert (tmp_path / "uploads" / ".meta" / ".usage").read_text() == "1000"


async def test_partial_uploads_sent_in_parallel_are_joined(
    tmp_path: Path, upload_backend: UploadBackend
) -> None:
    parts = [os.urandom(300 * KIB) for _ in range(4)]
    with quart_app_server(upload_backend.server_env(tmp_path)) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=WAIT_SECONDS) as http:

            async def send(part: bytes) -> str:
                headers = {**creation(len(part)), "Upload-Concat": "partial"}
                location = (await http.post("/files/", headers=headers)).headers["location"]
                half = len(part) // 2
                for offset, piece in ((0, part[:half]), (half, part[half:])):
                    answer = await http.patch(location, headers=chunk(offset), content=piece)
                    assert answer.status_code == 204
                return str(location)

            locations = await asyncio.gather(*(send(part) for part in parts))
            final = {**TUS_AUTH, "Upload-Concat": "final;" + " ".join(locations)}
            joined = await http.post("/files/", headers=final)
            assert joined.status_code == 201, joined.text
            [stored] = (await http.get("/uploads", headers=LISTING)).json()["files"]
    assert stored["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()
    assert stored["size"] == sum(len(part) for part in parts)
    assert upload_backend.content(stored["name"]) == b"".join(parts)


async def test_a_restart_during_a_patch_keeps_the_bytes_and_the_upload_resumes(
    tmp_path: Path, upload_backend: UploadBackend
) -> None:
    content = os.urandom(2 * 1024 * KIB)
    env = upload_backend.server_env(tmp_path)
    with quart_app_server(env) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=WAIT_SECONDS) as http:
            location = (await http.post("/files/", headers=creation(len(content)))).headers[
                "location"
            ]
            first = await http.patch(location, headers=chunk(0), content=content[: 512 * KIB])
            assert first.status_code == 204
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        sent = 1024 * KIB
        request = raw("PATCH", location, chunk(512 * KIB), b"")
        request = request.replace(
            b"Content-Length: 0", f"Content-Length: {len(content) - 512 * KIB}".encode()
        )
        writer.write(request + content[512 * KIB : 512 * KIB + sent])
        await writer.drain()
        await asyncio.sleep(0.5)
        server.process.terminate()
        await asyncio.to_thread(server.process.wait, 30)
        writer.close()
    with quart_app_server(env) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=WAIT_SECONDS) as http:
            status = await http.head(location, headers=TUS_AUTH)
            offset = int(status.headers["upload-offset"])
            assert 512 * KIB <= offset <= 512 * KIB + sent
            assert offset == 512 * KIB + sent, "what arrived before the restart is kept"
            rest = await http.patch(location, headers=chunk(offset), content=content[offset:])
            assert rest.status_code == 204
            [stored] = (await http.get("/uploads", headers=LISTING)).json()["files"]
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()
    assert upload_backend.content(stored["name"]) == content


async def test_a_client_that_stops_sending_gets_408_and_keeps_what_it_sent(
    tmp_path: Path,
) -> None:
    with quart_app_server(server_env(tmp_path, UPLOAD_IDLE_TIMEOUT="0.5")) as server:
        [connection, *others] = await one_connection_per_worker(server)
        for other in others:
            other.close()
        try:
            created = await connection.send(raw("POST", "/files/", creation(10 * KIB)))
            location = created.headers["location"]
            request = raw("PATCH", location, chunk(0), b"")
            request = request.replace(b"Content-Length: 0", f"Content-Length: {10 * KIB}".encode())
            idle = await connection.send(request + b"q" * (4 * KIB))
            assert idle.status == 408
            assert idle.json()["status"] == 408
        finally:
            connection.close()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=WAIT_SECONDS) as http:
            status = await http.head(location, headers=TUS_AUTH)
    assert status.headers["upload-offset"] == str(4 * KIB)
