"""Interop with tuspy, the tus project's Python client: uploads through a network that drops
the connection mid-chunk, resumed each time, stored intact (two workers)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from tusclient.client import TusClient

from ..support.app_settings import API_KEY, server_env
from ..support.cutting_proxy import cutting_proxy
from ..support.live_server import quart_app_server
from ..support.raw_http import WAIT_SECONDS

pytestmark = [pytest.mark.server, pytest.mark.slow]

KIB = 1024
MIB = 1024 * KIB
LISTING = {"X-API-Key": API_KEY, "Accept": "application/json"}


def random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path``; return their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as file:
        left = size
        while left:
            block = os.urandom(min(left, 4 * MIB))
            digest.update(block)
            file.write(block)
            left -= len(block)
    return digest.hexdigest()


@pytest.mark.parametrize(
    ("size", "chunk_size", "cuts"),
    [
        pytest.param(0, MIB, [], id="0 B"),
        # Cut inside the request head: nothing of the chunk arrives.
        pytest.param(1, MIB, [120, 150], id="1 B"),
        pytest.param(5 * MIB, MIB, [300 * KIB, 700 * KIB, 100 * KIB, 1000 * KIB], id="5 MiB"),
        pytest.param(
            200 * MIB,
            16 * MIB,
            [5 * MIB, 15 * MIB, 1 * MIB],
            id="200 MiB",
        ),
    ],
)
def test_tuspy_resumes_through_dropped_connections(
    tmp_path: Path, size: int, chunk_size: int, cuts: list[int]
) -> None:
    source = tmp_path / "source.bin"
    expected = random_file(source, size)
    with quart_app_server(server_env(tmp_path)) as server:
        # A stream of ours: given a path, tuspy opens the file and never closes it.
        with cutting_proxy(server.port, cuts) as (port, proxy), source.open("rb") as stream:
            client = TusClient(f"http://127.0.0.1:{port}/files/", headers={"X-API-Key": API_KEY})
            uploader = client.uploader(
                file_stream=stream,
                chunk_size=chunk_size,
                metadata={"filename": "source.bin", "filetype": "application/x-test"},
                retries=len(cuts) + 3,
                retry_delay=1,
            )
            uploader.upload()
            assert proxy.cut == len(cuts), "every cut was made"
        files = httpx.get(f"{server.base_url}/uploads", headers=LISTING, timeout=WAIT_SECONDS)
    [stored] = files.json()["files"]
    assert (stored["size"], stored["sha256"]) == (size, expected)
    assert (stored["original_name"], stored["content_type"]) == (
        "source.bin",
        "application/x-test",
    )
    assert not [p for p in (tmp_path / "uploads" / ".tus").iterdir() if p.suffix == ".data"]
