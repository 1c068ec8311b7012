"""The S3 store going away mid-upload, under `quart-app serve` with two workers: the client gets
a clear 5xx, the site keeps serving pages, nothing is published, and no multipart upload is
left billed once the store and the app are back."""

from __future__ import annotations

import asyncio
import os
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from .support.app_settings import API_KEY
from .support.live_server import quart_app_server
from .support.raw_http import WAIT_SECONDS, eventually, multipart, read_response, request_head
from .support.seaweedfs import restarted, running_seaweedfs, stop
from .support.upload_backends import UploadBackend

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
