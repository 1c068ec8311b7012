"""Upload benchmark: quart_app against the servers a user would compare it with, on loopback.

Run from the repository root:

    .venv/bin/python -m bench.uploads                 # every server and phase, once
    .venv/bin/python -m bench.uploads --runs 3 --servers quart_app,fastapi_uvicorn
    .venv/bin/python -m bench.uploads --phases get --get-seconds 3

Per server, each phase on a freshly started server:

- burst: CONCURRENCY concurrent uploads of SIZE MiB each: aggregate MB/s, p50/p99 latency of a
  page fetched every 20 ms during them, growth of the server's resident memory (whole process
  tree), the server tree's CPU seconds per GB sent, and whether what was stored (or answered)
  matches what was sent;
- big: one BIG MiB upload: MB/s, memory growth, CPU seconds per GB, integrity;
- get: GET / and GET /about over 64 keep-alive connections (servers with the site's pages only):
  requests per second and p99 latency, after a warm-up.

Then a table (one row per server and run, and the medians when --runs > 1), and the ratios the
project is judged by, from the medians. Load generation runs in forked processes that send
pre-built requests over raw sockets; their CPU use is reported. Results go to bench/results/.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

import uvloop

from .keep_alive_load import DRAIN_SECONDS, KeepAliveFigures, keep_alive_process
from .load import (
    BIG_HEAD,
    MAX_PHASE_SECONDS,
    TAIL,
    Exchange,
    big_payload,
    big_process,
    burst_body,
    burst_process,
    child,
    exchange,
    page_request,
    pages_process,
    part_head,
    payload,
    sha256_hex,
    upload_request,
)
from .process_tree import MemorySampler, process_tree, settle_rss, tree_cpu_seconds
from .report import (
    COLUMNS,
    LEGEND,
    NOT_CHECKED,
    Result,
    judged_ratios,
    median_result,
    notes,
    percentile,
    tables,
)
from .servers import ROOT, SERVERS, Content, Server, make_server, running

MIB = 1024 * 1024
CORES = os.cpu_count() or 1
PHASES = ("burst", "big", "get")
GET_PATHS = {"root": "/", "about": "/about"}


def stored_digests(folder: Path, side_files: tuple[str, ...] = ()) -> list[str]:
    """The SHA-256 of every file stored in ``folder``, less those ending in ``side_files``."""
    digests = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(side_files):
            digest = hashlib.sha256()
            with path.open("rb") as file:
                while chunk := file.read(MIB):
                    digest.update(chunk)
            digests.append(digest.hexdigest())
    return digests


def answered_digest(status: int, body: bytes) -> str | None:
    """The SHA-256 a server put in its 201 answer: quart_app's per file, the ceiling's whole."""
    if status != 201:
        return None
    try:
        answer = json.loads(body)
        return str(answer["sha256"] if "sha256" in answer else answer["files"][0]["sha256"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def clear(folder: Path) -> None:
    """Remove the stored uploads (and quart_app's metadata and tus uploads) between phases."""
    for path in folder.iterdir():
        if path.is_file() and not path.name.startswith("."):
            path.unlink()
        elif path.name in (".meta", ".tus"):
            shutil.rmtree(path)
            path.mkdir()


def intact(
    server: Server,
    expected: Callable[[Content], list[str]],
    answers: list[Exchange],
    notes: list[str],
    phase: str,
) -> str:
    """How many uploads passed every check the server allows, as "passed/sent"."""
    passed = []
    if server.stored:
        want = expected(server.stored)
        got = stored_digests(server.upload_dir, server.side_files)
        passed.append((Counter(got) & Counter(want)).total())
        if sorted(got) != sorted(want):
            notes.append(f"{phase}: stored {len(got)} files, digests differ from the sent")
    if server.answered:
        want = expected(server.answered)
        answered = [answered_digest(status, body) for status, body, _ in answers]
        passed.append(sum(mine == sent for mine, sent in zip(answered, want, strict=True)))
        if answered != want:
            notes.append(f"{phase}: answered digests differ from the sent")
    return f"{min(passed)}/{len(answers)}" if passed else NOT_CHECKED


def _multipart_upload(server: Server, block: bytes) -> int:
    """One small upload to /upload; its status."""
    body = part_head("warm.bin") + payload(10_000, 64 * 1024, block) + TAIL
    request = upload_request(server.port, server.headers, b"", len(body)) + body
    status, _, _ = uvloop.run(exchange(server.port, [request], timeout=30))
    return status


def warm_up(
    server: Server,
    block: bytes,
    result: Result,
    upload: Callable[[Server, bytes], int] = _multipart_upload,
) -> list[int]:
    """A few small uploads, then the server's processes."""
    for _ in range(4):
        status = upload(server, block)
        if not 200 <= status < 300:
            result.notes.append(f"warm-up upload answered {status}")
    clear(server.upload_dir)
    # What earlier phases (of any server) left for the kernel to write goes to disk now, so
    # that no phase pays for another's writeback.
    os.sync()
    assert server.process is not None
    return process_tree(server.process.pid)


def measure_burst(
    server: Server,
    pids: list[int],
    burst: Callable[..., None],
    burst_args: tuple[Any, ...],
    sent_bytes: int,
    result: Result,
) -> list[Exchange]:
    """Run ``burst(*burst_args, pipe)`` in a child while a page is fetched every 20 ms; fill in
    ``result``'s rate, pages, memory and CPU figures; return the burst's answers."""
    baseline = settle_rss(pids)
    answers: list[Exchange]
    stop = mp.get_context("fork").Event()
    page = page_request(server.port, *server.page, server.page_headers)
    with (
        child(burst, *burst_args) as loader,
        child(pages_process, server.port, page, stop) as pages,
        MemorySampler(pids) as memory,
    ):
        time.sleep(0.2)  # a few quiet page fetches first
        cpu_before = tree_cpu_seconds(pids)
        loader.send("go")
        if not loader.poll(MAX_PHASE_SECONDS):
            raise RuntimeError("burst did not finish")
        answers, started, ended, loadgen_cpu = loader.recv()
        server_cpu = tree_cpu_seconds(pids) - cpu_before
        stop.set()
        samples = pages.recv()
    wall = ended - started
    sent_gb = sent_bytes / 1e9
    result.burst_seconds = wall
    result.burst_mb_s = sent_gb * 1000 / wall
    during = [seconds * 1000 for sent, seconds, _ in samples if started <= sent <= ended]
    failed_pages = sum(
        1 for sent, _, status in samples if started <= sent and not 200 <= status < 300
    )
    if failed_pages:
        result.notes.append(f"{failed_pages} page fetches failed")
    result.pages = len(during)
    if during:
        result.page_latencies_ms = during
        result.page_p50_ms = percentile(during, 0.50)
        result.page_p99_ms = percentile(during, 0.99)
    result.burst_rss_growth_mib = (memory.peak - baseline) / MIB
    result.burst_rss_peak_mib = memory.peak / MIB
    result.burst_cpu_s_per_gb = server_cpu / sent_gb
    result.server_cpu_share = server_cpu / (wall * CORES)
    result.loadgen_cpu_share = loadgen_cpu / (wall * CORES)
    return answers


def burst_phase(server: Server, args: argparse.Namespace, block: bytes, result: Result) -> None:
    """CONCURRENCY uploads at once while a page is fetched every 20 ms."""
    size = args.size_mib * MIB
    pids = warm_up(server, block, result)

    @functools.cache
    def expected(content: Content) -> list[str]:
        if content == "payload":
            return [sha256_hex(payload(i, size, block)) for i in range(args.concurrency)]
        return [sha256_hex(burst_body(i, size, block)) for i in range(args.concurrency)]

    burst_args = (server.port, server.headers, args.concurrency, size, block)
    answers = measure_burst(
        server, pids, burst_process, burst_args, args.concurrency * size, result
    )
    result.burst_ok = sum(1 for status, _, _ in answers if status == 201)
    result.burst_intact = intact(server, expected, answers, result.notes, "burst")
    clear(server.upload_dir)


def big_phase(server: Server, args: argparse.Namespace, block: bytes, result: Result) -> None:
    """One upload of BIG MiB, streamed."""
    pids = warm_up(server, block, result)
    size = args.big_mib * MIB
    big_block = payload(20_000, 8 * MIB, block)

    @functools.cache
    def expected(content: Content) -> list[str]:
        pieces = big_payload(size, big_block)
        return [
            sha256_hex(*pieces) if content == "payload" else sha256_hex(BIG_HEAD, *pieces, TAIL)
        ]

    baseline = settle_rss(pids)
    big_args = (server.port, server.headers, size, big_block)
    with child(big_process, *big_args) as big, MemorySampler(pids) as memory:
        cpu_before = tree_cpu_seconds(pids)
        big.send("go")
        if not big.poll(MAX_PHASE_SECONDS):
            raise RuntimeError("big upload did not finish")
        answer, started, ended, _ = big.recv()
        server_cpu = tree_cpu_seconds(pids) - cpu_before
    status, body, _ = answer
    result.big_status = status
    result.big_mb_s = size / (ended - started) / 1e6
    result.big_rss_growth_mib = (memory.peak - baseline) / MIB
    result.big_cpu_s_per_gb = server_cpu / (size / 1e9)
    result.big_intact = intact(server, expected, [answer], result.notes, "1 GiB")
    if status != 201:
        result.notes.append(f"big upload answered {status}: {body[:120]!r}")
    clear(server.upload_dir)


def _keep_alive_load(
    server: Server, path: str, pids: list[int], args: argparse.Namespace
) -> tuple[list[KeepAliveFigures], float]:
    """GET ``path`` from several load processes; their figures and the server's CPU seconds."""
    per_process = [args.get_connections // args.get_procs] * args.get_procs
    for index in range(args.get_connections % args.get_procs):
        per_process[index] += 1
    timing = (args.get_warmup, args.get_seconds)
    with ExitStack() as stack:
        loads = [
            stack.enter_context(child(keep_alive_process, server.port, path, count, *timing))
            for count in per_process
        ]
        for load in loads:
            load.send("go")
        time.sleep(args.get_warmup)
        cpu_before = tree_cpu_seconds(pids)
        time.sleep(args.get_seconds)
        server_cpu = tree_cpu_seconds(pids) - cpu_before
        figures = []
        for load in loads:
            if not load.poll(DRAIN_SECONDS + 30):
                raise RuntimeError(f"GET {path}: a load process did not report")
            figures.append(load.recv())
    return figures, server_cpu


def get_phase(server: Server, args: argparse.Namespace, result: Result) -> None:
    """GET / and GET /about over keep-alive connections, one path after the other."""
    assert server.process is not None
    pids = process_tree(server.process.pid)
    os.sync()
    loadgen_shares, server_shares = [], []
    for key, path in GET_PATHS.items():
        figures, server_cpu = _keep_alive_load(server, path, pids, args)
        latencies = [latency for figure in figures for latency in figure.latencies]
        setattr(result, f"get_{key}_rps", len(latencies) / args.get_seconds)
        if latencies:
            setattr(result, f"get_{key}_p99_ms", percentile(latencies, 0.99) * 1000)
        loadgen_cpu = sum(figure.cpu_seconds for figure in figures)
        loadgen_shares.append(loadgen_cpu / (args.get_seconds * CORES))
        server_shares.append(server_cpu / (args.get_seconds * CORES))
        errors = sum(figure.errors for figure in figures)
        if errors:
            result.notes.append(f"GET {path}: {errors} errors (non-200, refused or cut off)")
        reconnects = sum(figure.reconnects for figure in figures)
        if reconnects > len(latencies) / 2:
            result.notes.append(
                f"GET {path}: the server closed connections {reconnects} times "
                "(no keep-alive): most requests paid for a new connection"
            )
    result.get_loadgen_cpu_share = max(loadgen_shares)
    result.get_server_cpu_share = max(server_shares)


def run_server(server: Server, args: argparse.Namespace, block: bytes, log: Path) -> Result:
    """Each phase that applies to the server, each on a freshly started server so that none
    inherits another's heap."""
    result = Result(server.label)
    phases: dict[str, tuple[bool, Callable[[], None]]] = {
        "burst": (server.uploads, lambda: burst_phase(server, args, block, result)),
        "big": (
            server.uploads and args.big_mib > 0,
            lambda: big_phase(server, args, block, result),
        ),
        "get": (server.site_pages, lambda: get_phase(server, args, result)),
    }
    for name in args.phases:
        applies, measure = phases[name]
        if not applies:
            continue
        try:
            with running(server, log):
                measure()
        except (RuntimeError, OSError, subprocess.SubprocessError) as error:
            # One peer failing should not cost the figures of the others.
            result.notes.append(f"{name} phase failed: {error}")
            clear(server.upload_dir)
    return result


def name_list(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(value: str) -> list[str]:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown: {', '.join(unknown)}; choose from {', '.join(choices)}"
            )
        return names

    return parse


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return number


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--servers", type=name_list(SERVERS), default=list(SERVERS))
    parser.add_argument("--phases", type=name_list(PHASES), default=list(PHASES))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--size-mib", type=int, default=8)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--get-connections", type=int, default=64)
    parser.add_argument("--get-procs", type=int, default=2, help="GET load processes")
    parser.add_argument("--get-warmup", type=_positive, default=2.0, help="seconds")
    parser.add_argument("--get-seconds", type=_positive, default=10.0, help="seconds, per path")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    block = os.urandom(8 * MIB)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    results: list[Result] = []
    integrity: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as workdir:
        for run in range(args.runs):
            for label in args.servers:
                server = make_server(label, Path(workdir))
                if server.uploads and {"burst", "big"} & set(args.phases):
                    integrity[label] = server.integrity()
                results.append(run_server(server, args, block, results_dir / f"{label}.log"))
                print(f"run {run + 1}: {label} done", file=sys.stderr, flush=True)
    medians = {label: median_result(label, results) for label in args.servers}
    ratios = judged_ratios(medians)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results_dir / f"uploads-{stamp}.json").write_text(
        json.dumps(
            {
                "options": vars(args),
                "results": [asdict(r) for r in results],
                "medians": [asdict(m) for m in medians.values()],
                "ratios": [ratio.as_dict() for ratio in ratios],
                "integrity": integrity,
            },
            indent=2,
        )
    )

    print(tables(results, list(medians.values()), args.runs, COLUMNS))
    print(f"\n{LEGEND}\n\nIntegrity checked:")
    for label, checked in integrity.items():
        print(f"  {label}: {checked}")
    if text := notes(results):
        print(text)
    print(
        "\nRatios the project is judged by (medians of this run; — where a figure was not"
        "\nmeasured: quart_app_nofsync has no GET phase, its pages being quart_app's):"
    )
    for ratio in ratios:
        print(f"  {ratio.line()}")


if __name__ == "__main__":
    main()
