"""`make serve-cluster` (scripts/serve_cluster.py): PostgreSQL, SeaweedFS and two servers come up
sharing users and files, and SIGTERM takes every one of them down, data and all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from quart_app.config import DEV_API_KEY

from .support.live_server import PROJECT_ROOT
from .support.postgres import MISSING_MESSAGE, postgres_binaries

pytestmark = [pytest.mark.server, pytest.mark.slow]

_START_SECONDS = 90.0


def _free_pair() -> int:
    """A loopback port whose next port is free too (bounded tries)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two free ports in a row")


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _children(pid: int) -> set[int]:
    """Every process descended from ``pid``, now."""
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.add(int(entry.name))
                frontier.append(int(entry.name))
    return found


def test_two_servers_share_users_and_files_and_stop_together(tmp_path: Path) -> None:
    if postgres_binaries() is None:
        pytest.skip(MISSING_MESSAGE)
    port = _free_pair()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    for variable in ("QUART_API_KEY", "QUART_SECRET_KEY", "QUART_UPLOAD_QUOTA"):
        env.pop(variable, None)
    with (tmp_path / "cluster.log").open("wb") as log:
        cluster = subprocess.Popen(
            [sys.executable, "-m", "scripts.serve_cluster", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + _START_SECONDS
        while not (_healthy(port) and _healthy(port + 1)):
            assert cluster.poll() is None, (tmp_path / "cluster.log").read_text()
            assert time.monotonic() < deadline, "the cluster did not come up"
            time.sleep(0.5)
        descendants = _children(cluster.pid)
        api = {"X-API-Key": DEV_API_KEY, "Accept": "application/json"}
        with httpx.Client(timeout=30) as http:
            stored = http.post(
                f"http://127.0.0.1:{port}/upload",
                headers=api,
                files={"wordlist-upload": ("shared.txt", b"one site, two servers\n")},
            )
            assert stored.status_code == 201, stored.text
            [entry] = stored.json()["files"]
            listing = http.get(f"http://127.0.0.1:{port + 1}/uploads", headers=api).json()
            assert [file["name"] for file in listing["files"]] == [entry["name"]]
            user = http.get(f"http://127.0.0.1:{port + 1}/api/users/ada-lovelace", headers=api)
            assert user.status_code == 200
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(60)
        except subprocess.TimeoutExpired:
            cluster.kill()
            raise
    output = (tmp_path / "cluster.log").read_text()
    assert cluster.returncode == 0, output
    # pg_ctl detaches PostgreSQL: it is not a descendant, but its port must be closed too.
    shared = re.search(
        r"PostgreSQL at postgresql://\S+?:(\d+)/\S+, SeaweedFS S3 at \S+?:(\d+) ", output
    )
    assert shared is not None, output
    for closed in (int(shared.group(1)), int(shared.group(2))):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", closed)) != 0, f"port {closed} still open"
    still_running = [pid for pid in descendants if Path(f"/proc/{pid}").exists()]
    zombies = {
        pid
        for pid in still_running
        if (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) == "Z"
    }
    assert set(still_running) <= zombies, "PostgreSQL, SeaweedFS and the servers all stopped"
