"""Start the real apps under real servers (Hypercorn, gunicorn) on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_STARTUP_SECONDS = 30.0


def free_port() -> int:
    """Ask the kernel for a loopback port nobody is using."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args!r} exited with {process.returncode} before listening"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the server did not listen on port {port} within {_STARTUP_SECONDS}s")


@dataclass(frozen=True)
class ServerProcess:
    """A server started as a subprocess, listening on a loopback port."""

    base_url: str
    port: int
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        """The PIDs of the server's worker processes (its children, but multiprocessing's
        resource tracker)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [
            int(pid)
            for pid in children.read_text().split()
            if b"resource_tracker" not in _command_line(int(pid))
        ]


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b"resource_tracker"  # gone: not a worker any more


@contextlib.contextmanager
def _started(
    server_args: list[str],
    config_env: Mapping[str, str],
    port: int,
    *,
    output: Path | None = None,
) -> Iterator[ServerProcess]:
    env = {**os.environ, **config_env, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", *server_args]
    with contextlib.ExitStack() as files:
        log = None if output is None else files.enter_context(output.open("wb"))
        with running(command, env, log) as process:
            wait_until_listening(port, process)
            yield ServerProcess(f"http://127.0.0.1:{port}", port, process)


@contextlib.contextmanager
def running(
    command: list[str],
    env: Mapping[str, str],
    log: BinaryIO | None,
    *,
    cwd: Path = PROJECT_ROOT,
) -> Iterator[subprocess.Popen[bytes]]:
    """The command running in `cwd` (its output in ``log``, if given) until the block ends;
    then stopped with SIGTERM, killed if it does not stop."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT if log else None
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def _served(server_args: list[str], config_env: Mapping[str, str], port: int) -> Iterator[str]:
    with _started(server_args, config_env, port) as server:
        yield server.base_url


@contextlib.contextmanager
def hypercorn_server(
    config_env: Mapping[str, str], *, extra_args: tuple[str, ...] = ()
) -> Iterator[str]:
    """Serve `quart_app.asgi:app` with `config_env` (QUART_* variables); yield its base URL."""
    port = free_port()
    args = ["hypercorn", "--bind", f"127.0.0.1:{port}", *extra_args, "quart_app.asgi:app"]
    with _served(args, config_env, port) as base_url:
        yield base_url


@contextlib.contextmanager
def quart_app_server(
    config_env: Mapping[str, str],
    *,
    extra_args: tuple[str, ...] = (),
    output: Path | None = None,
    port: int | None = None,
) -> Iterator[ServerProcess]:
    """Serve the app as `make serve` does (`quart-app serve`, hypercorn.toml, 2 workers); its
    output goes to `output` if given; on `port` if given (to start it again where it was)."""
    port = port or free_port()
    args = [
        "quart_app",
        "serve",
        "--config",
        str(PROJECT_ROOT / "hypercorn.toml"),
        "--bind",
        f"127.0.0.1:{port}",
        *extra_args,
    ]
    with _started(args, config_env, port, output=output) as server:
        yield server


@contextlib.contextmanager
def gunicorn_server(
    config_env: Mapping[str, str], *, extra_args: tuple[str, ...] = ()
) -> Iterator[str]:
    """Serve the Flask original as `make serve-flask` does (FLASK_* variables); yield its URL."""
    port = free_port()
    args = ["gunicorn", "--bind", f"127.0.0.1:{port}", *extra_args, "examples.flask_app.wsgi:app"]
    with _served(args, config_env, port) as base_url:
        yield base_url


@contextlib.contextmanager
def quart_dev_server(config_env: Mapping[str, str]) -> Iterator[str]:
    """Serve the app with Quart's development server, as `make dev` does; yield its base URL."""
    port = free_port()
    args = ["quart", "--app", "quart_app", "run", "--host", "127.0.0.1", "--port", str(port)]
    with _served(args, config_env, port) as base_url:
        yield base_url


def quart_app_serve_to_the_end(
    config_env: Mapping[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """Run `quart-app serve` with `args` until it exits, as one that refuses to start does."""
    return subprocess.run(
        [sys.executable, "-m", "quart_app", "serve", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **config_env, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
