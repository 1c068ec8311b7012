"""The servers the upload benchmark compares, each started on a free loopback port."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-api-key"
STARTUP_SECONDS = 30.0

# What a stored file or an answered digest holds: the uploaded file's bytes, or the whole
# request body (multipart envelope included) for the apps that do not parse it.
Content = Literal["payload", "body"]

SERVERS = (
    "quart_app",
    "quart_app_nofsync",
    "fastapi_uvicorn",
    "quart_streaming",
    "asgi_ceiling_write",
    "asgi_ceiling_hash",
    "asgi_ceiling_discard",
    "quart_obvious",
    "quart_obvious_tuned",
    "flask_gunicorn",
    "flask_site_gunicorn",
)

# The tus servers that bench/tus_uploads.py compares quart_app's /files/ with.
TUS_CEILINGS = ("tus_ceiling_durable", "tus_ceiling_write", "tus_ceiling_discard")
TUS_PEERS = ("tus_node", "tuspyserver", *TUS_CEILINGS)
TUS_NODE_DIR = ROOT / "bench" / "peers" / "tus_node"


@dataclass
class Server:
    """How to start one server, what it serves and what of its uploads can be checked."""

    label: str
    command: list[str]  # "{port}" stands for the loopback port it is to listen on
    env: dict[str, str]
    upload_dir: Path
    headers: dict[str, str] = field(default_factory=dict)
    uploads: bool = True
    site_pages: bool = False
    stored: Content | None = "payload"
    answered: Content | None = None
    prepare: list[str] = field(default_factory=list)  # run once before each start
    # What the pages fetched during a burst ask for (servers without pages: a cheap request of
    # theirs), which also tells when the server is up; and the headers it needs.
    page: tuple[str, str] = ("GET", "/")
    page_headers: dict[str, str] = field(default_factory=dict)
    # Suffixes of the files a store keeps beside the uploads (a tus server's upload state).
    side_files: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    def integrity(self) -> str:
        """What the benchmark's integrity columns compare, in words."""
        checks = []
        if self.stored:
            checks.append(f"stored files vs the sent {self._what(self.stored)}")
        if self.answered:
            checks.append(f"answered SHA-256 vs the sent {self._what(self.answered)}")
        return "; ".join(checks) or "n/a (nothing kept to check)"

    @staticmethod
    def _what(content: Content) -> str:
        return "payloads" if content == "payload" else "whole request bodies"


def _site_env(prefix: str, workdir: Path, label: str, upload_dir: Path) -> dict[str, str]:
    """The site's settings as QUART_* or FLASK_* variables, in a folder of its own."""
    settings = {
        "UPLOAD_FOLDER": str(upload_dir),
        "DATABASE": str(workdir / f"{label}.sqlite3"),
        "API_KEY": API_KEY,
        "SECRET_KEY": "bench-secret",
        "DEMO_PASSWORD": "bench-password",
    }
    return {f"{prefix}_{key}": value for key, value in settings.items()}


def _default_queue_config(workdir: Path) -> Path:
    """hypercorn.toml without its max_app_queue_size, so that Hypercorn's default applies."""
    settings = tomllib.loads((ROOT / "hypercorn.toml").read_text())
    del settings["max_app_queue_size"]
    path = workdir / "hypercorn-default-queue.toml"
    # JSON's strings, numbers, booleans and lists of them are valid TOML values too.
    path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items()))
    return path


def make_server(label: str, workdir: Path) -> Server:
    """The server called ``label``, with its files under ``workdir``."""
    upload_dir = workdir / f"{label}-uploads"
    upload_dir.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    env = {"BENCH_UPLOAD_DIR": str(upload_dir), "PYTHONPATH": str(ROOT)}
    bind = ["--bind", "127.0.0.1:{port}"]
    hypercorn = [python, "-m", "hypercorn", *bind]
    tuned = [*hypercorn, "--config", str(ROOT / "hypercorn.toml")]
    # The project's hypercorn.toml serves with uvloop; quart_app/asgi.py sets this beside it.
    single_accept = {"UV_TCP_SINGLE_ACCEPT": "1"}
    api_key = {"X-API-Key": API_KEY}
    gunicorn = [python, "-m", "gunicorn", *bind, "--workers", "2"]
    uvicorn = [
        python,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--workers",
        "2",
    ]
    match label:
        case "quart_app" | "quart_app_nofsync":
            env |= _site_env("QUART", workdir, label, upload_dir)
            env["QUART_UPLOAD_FSYNC"] = "false" if label == "quart_app_nofsync" else "true"
            # As `make serve` runs it.
            command = [python, "-m", "quart_app", "serve", "--config", "hypercorn.toml", *bind]
            return Server(
                label,
                command,
                env,
                upload_dir,
                api_key,
                site_pages=label == "quart_app",
                answered="payload",
            )
        case "fastapi_uvicorn":
            return Server(label, [*uvicorn, "bench.peers.fastapi_app:app"], env, upload_dir)
        case "quart_streaming":
            return Server(label, [*hypercorn, "bench.peers.quart_streaming:app"], env, upload_dir)
        case "asgi_ceiling_write":
            command = [*tuned, "bench.peers.asgi_ceiling:write_app"]
            return Server(
                label, command, env | single_accept, upload_dir, stored="body", answered="body"
            )
        case "asgi_ceiling_hash":
            command = [*tuned, "bench.peers.asgi_ceiling:hash_app"]
            return Server(
                label, command, env | single_accept, upload_dir, stored=None, answered="body"
            )
        case "asgi_ceiling_discard":
            config = ["--config", str(_default_queue_config(workdir))]
            command = [*hypercorn, *config, "bench.peers.asgi_ceiling:discard_app"]
            return Server(label, command, env | single_accept, upload_dir, stored=None)
        case "quart_obvious":
            # Hypercorn's defaults, as the obvious port would be served: one asyncio worker.
            return Server(label, [*hypercorn, "bench.peers.quart_obvious:app"], env, upload_dir)
        case "quart_obvious_tuned":
            # The same app under this project's hypercorn.toml, to separate app from server tuning.
            command = [*tuned, "bench.peers.quart_obvious:app"]
            return Server(label, command, env | single_accept, upload_dir)
        case "flask_gunicorn":
            # gunicorn's default 30 s worker timeout would kill the 1 GiB upload.
            command = [*gunicorn, "--timeout", "900", "bench.peers.flask_app:app"]
            return Server(label, command, env, upload_dir)
        case "tus_node" | "tuspyserver":
            # tus servers have no pages: the OPTIONS request that tells their capabilities
            # stands for one (@tus/server lets it through without the key, as a CORS
            # preflight; tuspyserver asks for it). Each keeps an upload's state in a file
            # beside its bytes.
            env["BENCH_API_KEY"] = api_key["X-API-Key"]
            if label == "tus_node":
                env["NODE_ENV"] = "production"
                command = ["node", str(TUS_NODE_DIR / "server.mjs"), "{port}"]
                page, side_file = ("OPTIONS", "/files"), ".json"
            else:
                command = [*uvicorn, "bench.peers.tuspy_app:app"]
                page, side_file = ("OPTIONS", "/files/"), ".info"
            return Server(
                label,
                command,
                env,
                upload_dir,
                api_key,
                page=page,
                page_headers=api_key if label == "tuspyserver" else {},
                side_files=(side_file,),
            )
        case "tus_ceiling_durable" | "tus_ceiling_write" | "tus_ceiling_discard":
            app = label.removeprefix("tus_ceiling_") + "_app"
            return Server(
                label,
                [*uvicorn, f"bench.peers.tus_ceiling:{app}"],
                env,
                upload_dir,
                stored=None if label == "tus_ceiling_discard" else "payload",
                page=("OPTIONS", "/files"),
            )
        case "flask_site_gunicorn":
            env |= _site_env("FLASK", workdir, label, upload_dir)
            # As `make serve-flask` runs it (access log included), with a worker per core.
            command = [*gunicorn, "--access-logfile", "-", "examples.flask_app.wsgi:app"]
            # Two workers building the app on a fresh database both seed it, and the second
            # fails (UserExistsError): seed it first, as `flask init-db` does.
            init_db = [python, "-m", "flask", "--app", "examples.flask_app.wsgi", "init-db"]
            return Server(
                label, command, env, upload_dir, uploads=False, site_pages=True, prepare=init_db
            )
    known = ", ".join((*SERVERS, *TUS_PEERS))
    raise ValueError(f"unknown server {label!r}; choose from {known}")


def _answers_page(server: Server) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
    try:
        connection.request(*server.page, headers=server.page_headers)
        return 200 <= connection.getresponse().status < 300
    except OSError:
        return False
    finally:
        connection.close()


@contextmanager
def running(server: Server, log: Path) -> Iterator[Server]:
    """Start the server, wait until its page answers 2xx, stop it gracefully after."""
    server.port = free_port()
    command = [part.replace("{port}", str(server.port)) for part in server.command]
    env = {**os.environ, **server.env}
    with log.open("ab") as log_file:
        if server.prepare:
            subprocess.run(
                server.prepare, cwd=ROOT, env=env, stdout=log_file, stderr=log_file, check=True
            )
        server.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log_file, stderr=log_file
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers_page(server):
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.label} exited; see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.label} did not start; see {log}")
            time.sleep(0.1)
        time.sleep(1.0)  # one worker answered: let the others finish importing
        yield server
    finally:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
