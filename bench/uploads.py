"""Upload benchmark: quart_app against the obvious Quart port and Flask + gunicorn, on loopback.

Run from the repository root:

    .venv/bin/python -m bench.uploads                 # all three servers, once
    .venv/bin/python -m bench.uploads --runs 3 --servers quart_app

For each server it measures, in one run: aggregate MB/s of CONCURRENCY concurrent uploads of
SIZE MiB each, p50/p99 latency of a page fetched every 20 ms during them, the growth and peak of
the server's resident memory (whole process tree), MB/s and memory growth for one BIG MiB upload,
and whether every stored file's SHA-256 matches what was sent. Load generation runs in separate
processes that send pre-built bodies from memory over raw sockets; their CPU use is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import uvloop

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-api-key"
BOUNDARY = b"benchboundary7MA4YWxkTrZu0gW"
FIELD = "wordlist-upload"
PAGE_INTERVAL = 0.020
MIB = 1024 * 1024
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MAX_PHASE_SECONDS = 600.0


# ----------------------------------------------------------------------------- servers


@dataclass
class Server:
    label: str
    command: list[str]
    env: dict[str, str]
    upload_dir: Path
    headers: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    port: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_server(label: str, workdir: Path) -> Server:
    upload_dir = workdir / f"{label}-uploads"
    upload_dir.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    env = {"BENCH_UPLOAD_DIR": str(upload_dir), "PYTHONPATH": str(ROOT)}
    if label in {"quart_app", "quart_app_nofsync"}:
        env |= {
            "QUART_UPLOAD_FOLDER": str(upload_dir),
            "QUART_DATABASE": str(workdir / "bench.sqlite3"),
            "QUART_API_KEY": API_KEY,
            "QUART_SECRET_KEY": "bench-secret",
            "QUART_DEMO_PASSWORD": "bench-password",
            "QUART_UPLOAD_FSYNC": "false" if label == "quart_app_nofsync" else "true",
        }
        # As `make serve` runs it; the address comes last (see running()).
        command = [python, "-m", "quart_app", "serve", "--config", "hypercorn.toml", "."]
        return Server(label, command, env, upload_dir, {"X-API-Key": API_KEY})
    if label == "quart_obvious":
        # Hypercorn's defaults, as the obvious port would be served: one asyncio worker.
        command = [python, "-m", "hypercorn", "bench.peers.quart_obvious:app"]
        return Server(label, command, env, upload_dir)
    if label == "quart_obvious_tuned":
        # The same app under this project's hypercorn.toml, to separate app from server tuning.
        env["UV_TCP_SINGLE_ACCEPT"] = "1"  # as quart_app/asgi.py sets it
        command = [python, "-m", "hypercorn", "--config", "hypercorn.toml"]
        return Server(label, [*command, "bench.peers.quart_obvious:app"], env, upload_dir)
    if label == "flask_gunicorn":
        # gunicorn's default 30 s worker timeout would kill the 1 GiB upload.
        command = [python, "-m", "gunicorn", "--workers", "2", "--timeout", "900"]
        return Server(label, [*command, "bench.peers.flask_app:app"], env, upload_dir)
    raise ValueError(label)


@contextmanager
def running(server: Server, log: Path) -> Iterator[Server]:
    server.port = free_port()
    bind = ["--bind", f"127.0.0.1:{server.port}"]
    # The last word is the app to serve ("." for quart-app serve, which knows its app).
    *options, app = server.command
    command = [*options, *bind, *([app] if app != "." else [])]
    with log.open("ab") as log_file:
        server.process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **server.env}, stdout=log_file, stderr=log_file
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with suppress(OSError), socket.create_connection(("127.0.0.1", server.port), 0.2):
                break
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.label} exited; see {log}")
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{server.label} did not start; see {log}")
        time.sleep(1.0)  # let every worker finish importing
        yield server
    finally:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


# ----------------------------------------------------------------------------- process tree


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with suppress(OSError), open(f"/proc/{entry}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def process_tree(root: int) -> list[int]:
    children = _children_map()
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def tree_rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with suppress(OSError), open(f"/proc/{pid}/statm", "rb") as statm:
            total += int(statm.read().split()[1]) * PAGE_SIZE
    return total


def tree_cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        with suppress(OSError), open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


class MemorySampler:
    """Samples the server tree's RSS every 10 ms in a thread; keeps the peak."""

    def __init__(self, root: int) -> None:
        self.pids = process_tree(root)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self.peak = tree_rss(self.pids)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, tree_rss(self.pids))


# ----------------------------------------------------------------------------- raw-socket HTTP


def upload_request(port: int, headers: dict[str, str], head: bytes, length: int) -> bytes:
    lines = [
        "POST /upload HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY.decode()}",
        f"Content-Length: {length}",
        "Accept: application/json",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + head


def part_head(filename: str) -> bytes:
    return (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="' + FIELD.encode() + b'"; '
        b'filename="' + filename.encode() + b'"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )


TAIL = b"\r\n--" + BOUNDARY + b"--\r\n"


def payload(index: int, size: int, block: bytes) -> bytes:
    """Distinct payloads from one random block: the first 8 bytes number them."""
    return index.to_bytes(8, "big") + block[8:size]


async def read_response(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> tuple[int, bytes]:
    data = bytearray()
    while b"\r\n\r\n" not in data:
        chunk = await loop.sock_recv(sock, 65536)
        if not chunk:
            raise ConnectionError("closed before the response headers")
        data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while length is None or len(body) < length:
        chunk = await loop.sock_recv(sock, 65536)
        if not chunk:
            break
        body += chunk
    return status, body


async def exchange(
    port: int, parts: list[bytes | memoryview], *, timeout: float
) -> tuple[int, bytes, float]:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, ("127.0.0.1", port))
            for part in parts:
                await loop.sock_sendall(sock, part)
            status, body = await read_response(loop, sock)
    except (OSError, TimeoutError) as error:
        return 0, repr(error).encode(), time.perf_counter() - started
    finally:
        sock.close()
    return status, body, time.perf_counter() - started


# ----------------------------------------------------------------------------- load processes


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def burst_process(
    port: int, headers: dict[str, str], count: int, size: int, block: bytes, conn: Connection
) -> None:
    """Send `count` concurrent uploads; report statuses, bodies, timings and own CPU."""
    requests = []
    for index in range(count):
        content = payload(index, size, block)
        body = part_head(f"burst-{index}.bin") + content + TAIL
        requests.append(upload_request(port, headers, b"", len(body)) + body)
    conn.send("ready")
    conn.recv()

    async def run() -> list[tuple[int, bytes, float]]:
        jobs = [exchange(port, [memoryview(r)], timeout=MAX_PHASE_SECONDS) for r in requests]
        return await asyncio.gather(*jobs)

    cpu, started = _cpu(), time.perf_counter()
    results = uvloop.run(run())
    conn.send((results, started, time.perf_counter(), _cpu() - cpu))


def big_process(
    port: int, headers: dict[str, str], size: int, block: bytes, conn: Connection
) -> None:
    """Stream one upload of `size` bytes built from a repeated block."""
    head = part_head("big.bin")
    body_length = len(head) + size + len(TAIL)
    first = upload_request(port, headers, head, body_length)
    blocks: list[bytes | memoryview] = [first]
    view = memoryview(block)
    remaining = size
    while remaining:
        piece = view[: min(len(block), remaining)]
        blocks.append(piece)
        remaining -= len(piece)
    blocks.append(TAIL)
    conn.send("ready")
    conn.recv()
    cpu, started = _cpu(), time.perf_counter()
    result = uvloop.run(exchange(port, blocks, timeout=MAX_PHASE_SECONDS))
    conn.send((result, started, time.perf_counter(), _cpu() - cpu))


def pages_process(port: int, stop: Any, conn: Connection) -> None:
    """GET / every 20 ms on a fresh connection until told to stop; report (start, latency)."""
    request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()

    async def run() -> list[tuple[float, float, int]]:
        samples = []
        start = time.perf_counter()
        for tick in range(int(MAX_PHASE_SECONDS / PAGE_INTERVAL)):
            if stop.is_set():
                break
            delay = start + tick * PAGE_INTERVAL - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            status, _, seconds = await exchange(port, [request], timeout=30)
            samples.append((sent, seconds, status))
        return samples

    conn.send("ready")
    conn.send(uvloop.run(run()))


@contextmanager
def child(target: Callable[..., None], *args: Any) -> Iterator[Connection]:
    parent_end, child_end = mp.Pipe()
    process = mp.get_context("fork").Process(target=target, args=(*args, child_end), daemon=True)
    process.start()
    try:
        if not parent_end.poll(120):
            raise RuntimeError(f"{target.__name__} did not get ready")
        assert parent_end.recv() == "ready"
        yield parent_end
    finally:
        process.join(timeout=MAX_PHASE_SECONDS)
        if process.is_alive():
            process.kill()


# ----------------------------------------------------------------------------- scenario


@dataclass
class Result:
    server: str
    burst_mb_s: float = 0.0
    burst_seconds: float = 0.0
    burst_ok: int = 0
    page_p50_ms: float = 0.0
    page_p99_ms: float = 0.0
    pages: int = 0
    burst_rss_growth_mib: float = 0.0
    burst_rss_peak_mib: float = 0.0
    burst_intact: str = ""
    server_cpu_share: float = 0.0
    loadgen_cpu_share: float = 0.0
    big_mb_s: float = 0.0
    big_status: int = 0
    big_rss_growth_mib: float = 0.0
    big_intact: str = ""
    notes: list[str] = field(default_factory=list)


def stored_digests(folder: Path) -> list[str]:
    digests = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            digest = hashlib.sha256()
            with path.open("rb") as file:
                while chunk := file.read(MIB):
                    digest.update(chunk)
            digests.append(digest.hexdigest())
    return digests


def clear(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file() and not path.name.startswith("."):
            path.unlink()
        elif path.name == ".meta":
            shutil.rmtree(path)
            path.mkdir()


def settle_rss(pids: list[int]) -> int:
    samples = []
    for _ in range(10):
        samples.append(tree_rss(pids))
        time.sleep(0.05)
    return min(samples)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


def warm_up(server: Server, block: bytes, result: Result) -> list[int]:
    """A few small uploads, then the server's processes once their memory has settled."""
    warm = payload(10_000, 64 * 1024, block)
    body = part_head("warm.bin") + warm + TAIL
    for _ in range(4):
        status, _, _ = uvloop.run(
            exchange(
                server.port,
                [upload_request(server.port, server.headers, b"", len(body)) + body],
                timeout=30,
            )
        )
        if status != 201:
            result.notes.append(f"warm-up upload answered {status}")
    clear(server.upload_dir)
    assert server.process is not None
    return process_tree(server.process.pid)


def run_server(server: Server, args: argparse.Namespace, block: bytes, log: Path) -> Result:
    """Both phases, each on a freshly started server so that neither inherits the other's heap."""
    result = Result(server.label)
    with running(server, log):
        burst_phase(server, args, block, result)
    if args.big_mib:
        with running(server, log):
            big_phase(server, args, block, result)
    return result


def burst_phase(server: Server, args: argparse.Namespace, block: bytes, result: Result) -> None:
    size = args.size_mib * MIB
    pids = warm_up(server, block, result)
    pid = pids[0]
    baseline = settle_rss(pids)
    expected = sorted(
        hashlib.sha256(payload(i, size, block)).hexdigest() for i in range(args.concurrency)
    )
    stop = mp.get_context("fork").Event()
    burst_args = (server.port, server.headers, args.concurrency, size, block)
    with (
        child(burst_process, *burst_args) as burst,
        child(pages_process, server.port, stop) as pages,
        MemorySampler(pid) as memory,
    ):
        time.sleep(0.2)  # a few quiet page fetches first
        cpu_before = tree_cpu_seconds(pids)
        burst.send("go")
        if not burst.poll(MAX_PHASE_SECONDS):
            raise RuntimeError("burst did not finish")
        responses, started, ended, loadgen_cpu = burst.recv()
        server_cpu = tree_cpu_seconds(pids) - cpu_before
        stop.set()
        samples = pages.recv()
    wall = ended - started
    result.burst_seconds = wall
    result.burst_ok = sum(1 for status, _, _ in responses if status == 201)
    result.burst_mb_s = args.concurrency * size / wall / 1e6
    during = [seconds * 1000 for sent, seconds, _ in samples if started <= sent <= ended]
    failed_pages = sum(1 for sent, _, status in samples if started <= sent and status != 200)
    if failed_pages:
        result.notes.append(f"{failed_pages} page fetches failed")
    result.pages = len(during)
    if during:
        result.page_p50_ms = percentile(during, 0.50)
        result.page_p99_ms = percentile(during, 0.99)
    result.burst_rss_growth_mib = (memory.peak - baseline) / MIB
    result.burst_rss_peak_mib = memory.peak / MIB
    result.server_cpu_share = server_cpu / (wall * os.cpu_count())  # type: ignore[operator]
    result.loadgen_cpu_share = loadgen_cpu / (wall * os.cpu_count())  # type: ignore[operator]
    got = stored_digests(server.upload_dir)
    intact = sorted(got) == expected
    result.burst_intact = f"{sum(1 for d in got if d in set(expected))}/{len(expected)}"
    if not intact:
        result.notes.append(f"burst: stored {len(got)} files, digests differ")
    if server.label.startswith("quart_app"):
        answered = sorted(
            json.loads(body)["files"][0]["sha256"]
            for status, body, _ in responses
            if status == 201
        )
        if answered != expected:
            result.notes.append("burst: answered digests differ from the sent ones")
    clear(server.upload_dir)


def big_phase(server: Server, args: argparse.Namespace, block: bytes, result: Result) -> None:
    pids = warm_up(server, block, result)
    pid = pids[0]
    big_size = args.big_mib * MIB
    big_block = payload(20_000, 8 * MIB, block)
    digest = hashlib.sha256()
    remaining = big_size
    while remaining:
        digest.update(big_block[: min(len(big_block), remaining)])
        remaining -= min(len(big_block), remaining)
    baseline = settle_rss(pids)
    big_args = (server.port, server.headers, big_size, big_block)
    with child(big_process, *big_args) as big, MemorySampler(pid) as memory:
        big.send("go")
        if not big.poll(MAX_PHASE_SECONDS):
            raise RuntimeError("big upload did not finish")
        (status, body, _), started, ended, _ = big.recv()
    result.big_status = status
    result.big_mb_s = big_size / (ended - started) / 1e6
    result.big_rss_growth_mib = (memory.peak - baseline) / MIB
    got = stored_digests(server.upload_dir)
    result.big_intact = "1/1" if got == [digest.hexdigest()] else f"0/1 ({len(got)})"
    if status != 201:
        result.notes.append(f"big upload answered {status}: {body[:120]!r}")
    clear(server.upload_dir)


# ----------------------------------------------------------------------------- report


COLUMNS = [
    ("server", "server", "{}"),
    ("burst_mb_s", "MB/s", "{:.0f}"),
    ("burst_ok", "ok", "{}"),
    ("pages", "pages", "{}"),
    ("page_p50_ms", "p50 ms", "{:.1f}"),
    ("page_p99_ms", "p99 ms", "{:.1f}"),
    ("burst_rss_growth_mib", "+MiB", "{:.1f}"),
    ("burst_rss_peak_mib", "peak MiB", "{:.0f}"),
    ("burst_intact", "intact", "{}"),
    ("server_cpu_share", "srv CPU", "{:.0%}"),
    ("loadgen_cpu_share", "gen CPU", "{:.0%}"),
    ("big_mb_s", "1G MB/s", "{:.0f}"),
    ("big_rss_growth_mib", "1G +MiB", "{:.1f}"),
    ("big_intact", "1G intact", "{}"),
]


def table(results: list[Result]) -> str:
    rows = [[title for _, title, _ in COLUMNS]]
    for result in results:
        values = asdict(result)
        rows.append([fmt.format(values[key]) for key, _, fmt in COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--servers",
        default="quart_app,quart_app_nofsync,quart_obvious,quart_obvious_tuned,flask_gunicorn",
    )
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--size-mib", type=int, default=8)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    block = os.urandom(8 * MIB)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    all_results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as workdir:
        for run in range(args.runs):
            for label in args.servers.split(","):
                server = make_server(label, Path(workdir))
                result = run_server(server, args, block, results_dir / f"{label}.log")
                all_results.append(result)
                print(f"run {run + 1}: {label} done", file=sys.stderr, flush=True)
    print(table(all_results))
    for result in all_results:
        for note in result.notes:
            print(f"note: {result.server}: {note}")
    if args.runs > 1:
        for label in args.servers.split(","):
            mine = [r.burst_mb_s for r in all_results if r.server == label]
            p99 = [r.page_p99_ms for r in all_results if r.server == label]
            print(
                f"{label}: MB/s best {max(mine):.0f} spread {min(mine):.0f}-{max(mine):.0f} "
                f"(median {statistics.median(mine):.0f}); p99 ms {min(p99):.1f}-{max(p99):.1f}"
            )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results_dir / f"uploads-{stamp}.json").write_text(
        json.dumps([asdict(r) for r in all_results], indent=2)
    )


if __name__ == "__main__":
    main()
