"""A full disk under the served site: every refused upload answers 507 and holds no space.

The uploads folder is a small tmpfs, mounted when the tests run as root (CI does); the
same failure is simulated in-process by tests/upload_engine/test_temp_files.py and
tests/test_upload_server.py wherever mounting is not allowed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from .support.app_settings import API_KEY, server_env
from .support.live_server import quart_app_server
from .support.raw_http import WAIT_SECONDS, eventually

pytestmark = [pytest.mark.server, pytest.mark.slow]

AUTH = {"X-API-Key": API_KEY, "Accept": "application/json"}
MIB = 1024 * 1024


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


@pytest.mark.parametrize("fsync", ["true", "false"])
async def test_a_full_disk_answers_507_every_time_and_keeps_no_space(
    tmp_path: Path, small_disk: Path, fsync: str
) -> None:
    def leftovers() -> list[Path]:
        return list((small_disk / ".tmp").glob("*.part"))

    with quart_app_server(server_env(tmp_path, UPLOAD_FSYNC=fsync)) as running:
        async with httpx.AsyncClient(base_url=running.base_url, timeout=WAIT_SECONDS) as http:

            async def upload(size: int) -> httpx.Response:
                files = [("wordlist-upload", ("f.bin", os.urandom(size)))]
                return await http.post("/upload", headers=AUTH, files=files)

            assert (await upload(5 * MIB)).status_code == 201
            free_before = free_bytes(small_disk)
            refused = []
            for _ in range(10):
                answer = await upload(4 * MIB)
                refused.append((answer.status_code, answer.json()["error"]))
                await eventually(lambda: not leftovers(), "the refused upload's temp file goes")
            assert refused == [(507, "Insufficient Storage")] * 10
            assert free_bytes(small_disk) == free_before, "no space is held after a refusal"
            assert (await upload(MIB)).status_code == 201, "what still fits is taken"
    stored = [p for p in small_disk.iterdir() if p.is_file()]
    assert len(stored) == 2
    meta = sorted(p.name for p in (small_disk / ".meta").iterdir())
    assert meta == sorted([".lock", ".usage", *(f"{p.name}.json" for p in stored)])
