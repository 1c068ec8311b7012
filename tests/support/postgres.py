"""A real PostgreSQL server for tests: Debian's server binaries, a throwaway cluster on loopback.

    with running_postgres() as server:
        url = server.fresh_database("users")  # an empty database of its own
        connection = await asyncpg.connect(url)

The binaries come from Debian's `postgresql` package (`make install-postgresql`). The cluster
trusts every connection from this machine, keeps nothing worth keeping and goes with its folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .live_server import free_port

MISSING_MESSAGE = (
    "PostgreSQL's server binaries are missing (Debian package postgresql): install them with "
    "`make install-postgresql` or `sudo apt-get install -y postgresql`"
)
DATABASE = "quart_app_test"
ADMIN_DATABASE = "postgres"
SUPERUSER = "postgres"
# The account Debian's package creates; initdb and postgres refuse to run as root.
SERVER_ACCOUNT = "postgres"
DEBIAN_VERSIONS = Path("/usr/lib/postgresql")
_PROGRAMS = ("initdb", "pg_ctl", "postgres", "createdb")
_START_SECONDS = 60
_STOP_SECONDS = 10
_COMMAND_SECONDS = _START_SECONDS + 30
# The data is thrown away, so nothing is made durable; tests open many pools at once.
# The data is thrown away, so nothing need reach the disk; but a commit must reach the kernel
# before it is reported (synchronous_commit stays on), or a test that stops the server as a
# crash would (`stop()`) could lose what the app was told was committed.
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL server on loopback with one empty database at `url`."""

    url: str
    admin_url: str
    port: int
    folder: Path
    bin_folder: Path
    start_seconds: float

    def fresh_database(self, name_hint: str = "test") -> str:
        """Create an empty database named after ``name_hint`` (made unique); return its URL."""
        name = _unique_name(name_hint)
        _create_database(self.bin_folder, self.port, name)
        return _database_url(self.port, name)

    def stop(self) -> None:
        """Stop the server at once, as a crash or a lost host would (the data stays)."""
        _stop(self.bin_folder, self.folder / "data")

    def start(self) -> None:
        """Start the stopped server again on the same port and data."""
        _start(self.bin_folder, self.folder / "data")


def postgres_binaries() -> Path | None:
    """The folder of PostgreSQL's server programs: Debian's newest version, else PATH's; None
    when they are missing."""
    debian = sorted(DEBIAN_VERSIONS.glob("*/bin"), key=_version, reverse=True)
    on_path = shutil.which("pg_ctl")
    candidates = [*debian, *([Path(on_path).resolve().parent] if on_path else [])]
    return next((folder for folder in candidates if _has_programs(folder)), None)


def _version(bin_folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bin_folder.parent.name))


def _has_programs(folder: Path) -> bool:
    return all(os.access(folder / program, os.X_OK) for program in _PROGRAMS)


def _database_url(port: int, database: str) -> str:
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


def _unique_name(hint: str) -> str:
    # Identifiers stop at 63 bytes: a readable prefix from the hint, then a random suffix.
    prefix = re.sub(r"[^a-z0-9_]+", "_", hint.lower()).strip("_")[:40] or "test"
    return f"{prefix}_{secrets.token_hex(4)}"


def _environment() -> dict[str, str]:
    # The caller's PG* variables (PGHOST, PGDATABASE, PGOPTIONS ...) would steer the commands.
    return {name: value for name, value in os.environ.items() if not name.startswith("PG")}


def _as_server_account(command: Sequence[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_ACCOUNT, "--", *command]
    return list(command)


def _run(command: Sequence[str], *, folder: Path | None = None) -> None:
    """Run ``command``; on failure raise with its output and, given ``folder``, the server log."""
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=_environment(),
            cwd=folder,
            timeout=_COMMAND_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"{command[0]} took over {_COMMAND_SECONDS} s") from error
    if done.returncode != 0:
        log = "" if folder is None else _server_log_tail(folder)
        raise RuntimeError(
            f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}{done.stderr}{log}"
        )


def _server_log_tail(folder: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        tail = (folder / "server.log").read_text(errors="replace").splitlines()[-lines:]
        return "server log:\n" + "\n".join(tail)
    return ""


def _make_folder() -> Path:
    # Under /tmp: the `postgres` account can reach it when we run as root, and the socket's path
    # stays under the 107 bytes a Unix socket allows whatever TMPDIR says.
    folder = Path(tempfile.mkdtemp(prefix="postgres-", dir="/tmp"))
    if os.geteuid() == 0:
        try:
            shutil.chown(folder, user=SERVER_ACCOUNT)
        except LookupError as error:
            shutil.rmtree(folder)
            raise RuntimeError(
                f"running as root needs the `{SERVER_ACCOUNT}` account (Debian's package makes it)"
            ) from error
    return folder


def _initialise(bin_folder: Path, folder: Path, port: int) -> Path:
    """Make a cluster in ``folder``/data that serves ``port`` on loopback; return its path."""
    data = folder / "data"
    initdb = [
        str(bin_folder / "initdb"),
        f"--pgdata={data}",
        f"--username={SUPERUSER}",
        "--auth=trust",
        "--encoding=UTF8",
        "--no-locale",
        "--no-sync",
        "--no-instructions",
    ]
    _run(_as_server_account(initdb), folder=folder)
    settings = {**_SETTINGS, "port": str(port), "unix_socket_directories": f"'{folder}'"}
    with (data / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
    return data


def _start(bin_folder: Path, data: Path) -> None:
    """Start the server and wait until it accepts connections."""
    pg_ctl = [str(bin_folder / "pg_ctl"), "start", f"--pgdata={data}"]
    log = data.parent / "server.log"
    wait = ["--wait", f"--timeout={_START_SECONDS}", "--silent"]
    _run(_as_server_account([*pg_ctl, f"--log={log}", *wait]), folder=data.parent)


def _create_database(bin_folder: Path, port: int, name: str) -> None:
    _run(
        [
            str(bin_folder / "createdb"),
            "--host=127.0.0.1",
            f"--port={port}",
            f"--username={SUPERUSER}",
            "--no-password",
            name,
        ]
    )


def _stop(bin_folder: Path, data: Path) -> None:
    """Stop the server at once (its data is thrown away); kill it if pg_ctl cannot."""
    pg_ctl = [str(bin_folder / "pg_ctl"), "stop", f"--pgdata={data}", "--mode=immediate"]
    with contextlib.suppress(subprocess.SubprocessError):
        subprocess.run(
            _as_server_account([*pg_ctl, "--wait", f"--timeout={_STOP_SECONDS}", "--silent"]),
            capture_output=True,
            env=_environment(),
            cwd=data.parent,
            timeout=_STOP_SECONDS + 5,
            check=False,
        )
    pid = _postmaster_pid(data)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _postmaster_pid(data: Path) -> int | None:
    """The server's process while it runs from ``data``, else None."""
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    # A stale file may name a process that is not ours any more.
    return pid if os.fsencode(data) in command_line else None


@contextlib.contextmanager
def running_postgres(*, database: str = DATABASE) -> Iterator[PostgresServer]:
    """Start a throwaway cluster on a free loopback port with an empty ``database``; stop it and
    remove its folder on exit."""
    bin_folder = postgres_binaries()
    if bin_folder is None:
        raise FileNotFoundError(MISSING_MESSAGE)
    started = time.monotonic()
    folder = _make_folder()
    try:
        port = free_port()
        data = _initialise(bin_folder, folder, port)
        try:
            _start(bin_folder, data)
            _create_database(bin_folder, port, database)
            yield PostgresServer(
                url=_database_url(port, database),
                admin_url=_database_url(port, ADMIN_DATABASE),
                port=port,
                folder=folder,
                bin_folder=bin_folder,
                start_seconds=time.monotonic() - started,
            )
        finally:
            _stop(bin_folder, data)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
