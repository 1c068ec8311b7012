"""The S3 store going away mid-upload, under `quart-app serve` with two workers: the client gets
a clear 5xx, the site keeps serving pages, nothing is published, and no multipart upload is
left billed once the store and the app are back."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from .support.app_settings import API_KEY
from .support.live_server import ServerProcess, quart_app_server
from .support.raw_http import WAIT_SECONDS, eventually, multipart, read_response, request_head
from .support.seaweedfs import restarted, running_seaweedfs, stop
from .support.upload_backends import UploadBackend
from .support.workers import KeptAlive, serving_worker

pytestmark = [pytest.mark.server, pytest.mark.slow]

LISTING = {"X-API-Key": API_KEY, "Accept": "application/json"}
MIB = 1024 * 1024


async def test_the_store_stopping_mid_upload_is_a_clear_5xx_and_nothing_is_kept(
    tmp_path: Path,
) -> None:
    body = multipart(("big.bin", os.urandom(40 * MIB)))
    with running_seaweedfs() as store:
        backend = UploadBackend.s3(tmp_path / "uploads", store)
        env = backend.server_env(tmp_path)
        with quart_app_server(env) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(request_head(server.port, length=len(body), api_key=API_KEY))
            writer.write(body[: 12 * MIB])
            await writer.drain()
            await eventually(backend.in_progress, "a multipart upload has begun")
            stop(store.process)
            answer = asyncio.ensure_future(read_response(reader))
            for start in range(12 * MIB, len(body), MIB):
                if answer.done():
                    break
                writer.write(body[start : start + MIB])
                with suppress(ConnectionError):
                    await writer.drain()
            status, refused = await asyncio.wait_for(answer, 60)
            writer.close()
            assert status in (502, 503, 504)
            assert refused["status"] == status and refused["message"]
            async with httpx.AsyncClient(base_url=server.base_url, timeout=WAIT_SECONDS) as http:
                assert (await http.get("/")).status_code == 200
                health = await http.get("/healthz")
                assert health.status_code == 503
                assert health.json()["upload_store_reachable"] is False
                listing = await http.get("/uploads", headers=LISTING)
                assert listing.status_code in (502, 503, 504)
                assert "Traceback" not in listing.text
            with restarted(store):
                async with httpx.AsyncClient(
                    base_url=server.base_url, timeout=WAIT_SECONDS
                ) as http:
                    assert (await http.get("/healthz")).status_code == 200
                    listing = await http.get("/uploads", headers=LISTING)
                    assert (listing.status_code, listing.json()["files"]) == (200, [])
        with restarted(store), quart_app_server(env):
            # The multipart upload whose abort failed while the store was away goes at start.
            await eventually(lambda: not backend.in_progress(), "no multipart upload is left")
            assert backend.stored() == []


async def test_a_worker_replaced_during_an_outage_is_tried_again_while_the_other_serves(
    tmp_path: Path,
) -> None:
    log = tmp_path / "server.log"
    with running_seaweedfs() as store:
        env = UploadBackend.s3(tmp_path / "uploads", store).server_env(tmp_path)
        with quart_app_server(env, output=log) as server:
            await _both_workers_serve(server, log)
            first, second = server.worker_pids()
            stop(store.process)
            os.kill(first, signal.SIGKILL)
            await eventually(
                lambda: log.read_text().count("A worker could not start") >= 2,
                "its replacement fails to start, twice",
            )
            assert server.process.poll() is None, "the server serves on"
            async with httpx.AsyncClient(base_url=server.base_url, timeout=WAIT_SECONDS) as http:
                for _ in range(4):
                    assert (await http.get("/")).status_code == 200
            assert second in server.worker_pids()
            with restarted(store):
                await _both_workers_serve(server, log)
                assert _healthy(server.base_url)
    assert "The app could not start; stopping" not in log.read_text()


async def _both_workers_serve(server: ServerProcess, log: Path) -> None:
    """Wait (at most 90 s: a replacement's tries back off, 1, 2, 4 ... s) until each of the
    two workers has answered a request."""
    deadline = time.monotonic() + 90
    while len(await _answering_workers(server)) < 2:
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        await asyncio.sleep(1)


async def _answering_workers(server: ServerProcess, tries: int = 20) -> set[int]:
    """The workers that answered one of ``tries`` requests, each on a connection of its own."""
    answered = set()
    for _ in range(tries):
        connection = KeptAlive(*await asyncio.open_connection("127.0.0.1", server.port))
        try:
            await connection.send(b"GET /about HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answered.add(serving_worker(server, connection.port))
        finally:
            connection.close()
            await connection.writer.wait_closed()
        if len(answered) == 2:
            break
    return answered


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
