"""tus upload benchmark (issue 13): quart_app's /files/ against @tus/server and tuspyserver, and
against quart_app's own /upload, on loopback.

Run from the repository root:

    .venv/bin/python -m bench.tus_uploads --runs 3
    .venv/bin/python -m bench.tus_uploads --servers tus_node,tuspyserver
    .venv/bin/python -m bench.tus_uploads --servers quart_app_tus_nofsync,quart_app_upload_nofsync

In each run, each server freshly started: CONCURRENCY concurrent uploads of SIZE MiB (distinct
contents), each a creation POST then PATCHes of CHUNK MiB on one kept-alive connection (with
--reconnect, a new connection for each request; the /upload row: the same burst as
bench.uploads, multipart, one request each), while a page is fetched every 20 ms (the tus peers
have no pages: OPTIONS /files of theirs). Per server: MB/s, the page latency, memory growth and
CPU seconds per GB of the server's whole process tree, and the SHA-256 of each stored file (read
from the server's store) against what was sent. Then the ratios issue 13 sets as targets. The
order of the servers turns by one each run.

@tus/server is installed with `npm ci` into bench/peers/tus_node/ when its node_modules is
missing; tuspyserver with pip into this interpreter's environment when it is missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import uvloop

from .load import MAX_PHASE_SECONDS, payload, sha256_hex
from .report import BURST_COLUMNS, Ratio, Result, median_result, notes, tables
from .servers import ROOT, TUS_CEILINGS, TUS_NODE_DIR, TUS_PEERS, Server, make_server, running
from .tus_load import tus_burst_process, tus_upload, upload_requests
from .uploads import MIB, burst_phase, clear, intact, measure_burst, name_list, warm_up

TUSPYSERVER = "tuspyserver==4.4.3"
# Row label: (the server started, what is sent to it). The first four and the ceilings run by
# default; the nofsync rows (UPLOAD_FSYNC off) tell what durability costs each; the ceilings
# (bench/peers/tus_ceiling.py) how fast any Python tus server can go on this machine.
ROWS = {
    "quart_app_tus": ("quart_app", "tus"),
    "quart_app_upload": ("quart_app", "multipart"),
    "tus_node": ("tus_node", "tus"),
    "tuspyserver": ("tuspyserver", "tus"),
    "quart_app_tus_nofsync": ("quart_app_nofsync", "tus"),
    "quart_app_upload_nofsync": ("quart_app_nofsync", "multipart"),
    **{ceiling: (ceiling, "tus") for ceiling in TUS_CEILINGS},
}
DEFAULT_ROWS = [*list(ROWS)[:4], *TUS_CEILINGS]
SITE_PAGE = "GET / (the site's home page)"
PAGES = {
    "quart_app_tus": SITE_PAGE,
    "quart_app_upload": SITE_PAGE,
    "quart_app_tus_nofsync": SITE_PAGE,
    "quart_app_upload_nofsync": SITE_PAGE,
    "tus_node": "OPTIONS /files (no pages; a CORS preflight, answered by @tus/server)",
    "tuspyserver": "OPTIONS /files/ with the API key (no pages; answered by the tus router)",
    **dict.fromkeys(TUS_CEILINGS, "OPTIONS /files (no pages)"),
}
# (subject, reference, target): MB/s ratios issue 13 sets.
TARGETS = [
    ("quart_app_tus", "tus_node", 1.0),
    ("quart_app_tus", "tuspyserver", 2.0),
    ("quart_app_tus", "quart_app_upload", 0.8),
]


def _tus_warm_upload(server: Server, block: bytes) -> int:
    """One small tus upload in one PATCH; the last status."""
    creation, patches = upload_requests(
        server.port, server.headers, payload(10_000, 64 * 1024, block), MIB, "warm.bin"
    )
    status, _, _ = uvloop.run(tus_upload(server.port, creation, patches, timeout=30))
    return status


def tus_phase(server: Server, args: argparse.Namespace, block: bytes, result: Result) -> None:
    """CONCURRENCY tus uploads at once while a page is fetched every 20 ms."""
    size, chunk = args.size_mib * MIB, args.chunk_mib * MIB
    pids = warm_up(server, block, result, _tus_warm_upload)
    timeout = MAX_PHASE_SECONDS - 60
    burst_args = (
        *(server.port, server.headers, args.concurrency, size, chunk, block),
        *(timeout, args.reconnect),
    )
    answers = measure_burst(
        server, pids, tus_burst_process, burst_args, args.concurrency * size, result
    )
    result.burst_ok = sum(1 for status, _, _ in answers if status == 204)
    failures = sorted({f"{status} {body[:100]!r}" for status, body, _ in answers if status != 204})
    if failures:
        result.notes.append(f"tus uploads that failed answered: {'; '.join(failures)}")

    def expected(_: object) -> list[str]:
        return [sha256_hex(payload(i, size, block)) for i in range(args.concurrency)]

    # A tus upload's answers carry no digest: what counts is what the store holds.
    stored_only = dataclasses.replace(server, answered=None)
    result.burst_intact = intact(stored_only, expected, answers, result.notes, "tus")
    clear(server.upload_dir)


def _install_tuspyserver() -> str | None:
    """pip-install tuspyserver into this environment unless it is there; why it cannot run,
    if it cannot."""
    if importlib.util.find_spec("tuspyserver") is not None:
        return None
    print(f"installing {TUSPYSERVER} with pip", file=sys.stderr, flush=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", TUSPYSERVER]
    if subprocess.run(pip, check=False).returncode != 0:
        return f"`pip install {TUSPYSERVER}` failed (above)"
    return None


def _install_tus_node() -> str | None:
    """npm ci @tus/server into its folder unless done; why it cannot run, if it cannot."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found: install Node.js 20 (with npm) to run it"
    if not (TUS_NODE_DIR / "node_modules").is_dir():
        print("installing @tus/server with npm ci", file=sys.stderr, flush=True)
        npm = ["npm", "ci", "--no-audit", "--no-fund"]
        ran = subprocess.run(npm, cwd=TUS_NODE_DIR, check=False, stdout=subprocess.DEVNULL)
        if ran.returncode != 0:
            return f"`npm ci` in {TUS_NODE_DIR.relative_to(ROOT)} failed (above)"
    return None


def run_row(label: str, args: argparse.Namespace, block: bytes, workdir: Path) -> Result:
    """One row's phase on a freshly started server."""
    name, traffic = ROWS[label]
    server = make_server(name, workdir)
    result = Result(label)
    measure: Callable[[Server, argparse.Namespace, bytes, Result], None] = (
        tus_phase if traffic == "tus" else burst_phase
    )
    log = ROOT / "bench" / "results" / f"tus-{label}.log"
    try:
        with running(server, log):
            measure(server, args, block, result)
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        # One server failing should not cost the figures of the others.
        result.notes.append(f"failed: {error}")
        clear(server.upload_dir)
    return result


def _all_intact(result: Result | None) -> bool:
    """Whether every upload of every run was taken and stored intact."""
    if result is None or result.burst_intact is None or "/" not in result.burst_intact:
        return False
    passed, sent = result.burst_intact.split("/")
    return passed == sent


@dataclasses.dataclass
class Target:
    """One of issue 13's targets against this run's medians."""

    ratio: Ratio
    target: float
    intact: bool  # a rate of failed uploads is no rate

    def line(self) -> str:
        value = self.ratio.value
        if value is None:
            verdict = "not measured"
        elif not self.intact:
            verdict = "not judged: uploads failed or were not stored intact"
        else:
            verdict = "met" if value >= self.target else "MISSED"
        return f"{self.ratio.line()}; target ≥ {self.target:.1f}: {verdict}"


def targets(medians: dict[str, Result]) -> list[Target]:
    """The MB/s ratios issue 13 is judged by."""
    found = []
    for subject, reference, target in TARGETS:
        mine, theirs = medians.get(subject), medians.get(reference)
        ratio = Ratio(
            f"{subject} / {reference} MB/s",
            mine.burst_mb_s if mine else None,
            theirs.burst_mb_s if theirs else None,
            "MB/s",
            False,
        )
        found.append(Target(ratio, target, _all_intact(mine) and _all_intact(theirs)))
    return found


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--servers", type=name_list(tuple(ROWS)), default=DEFAULT_ROWS)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--size-mib", type=int, default=8)
    parser.add_argument("--chunk-mib", type=int, default=2, help="the size of each PATCH")
    parser.add_argument(
        "--reconnect",
        action="store_true",
        help="send each tus request on a new connection (with 2 workers, a PATCH then often "
        "reaches another worker than the one before)",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    labels: list[str] = args.servers
    skipped: dict[str, str] = {}
    for label, install in (("tus_node", _install_tus_node), ("tuspyserver", _install_tuspyserver)):
        if label in labels and (why := install()):
            skipped[label] = why
            print(f"{label} skipped: {why}", file=sys.stderr, flush=True)
    labels = [label for label in labels if label not in skipped]
    if not labels:
        raise SystemExit("no server left to measure")
    block = os.urandom(8 * MIB)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-tus-") as workdir:
        for run in range(args.runs):
            turn = run % len(labels)
            for label in labels[turn:] + labels[:turn]:
                results.append(run_row(label, args, block, Path(workdir)))
                print(f"run {run + 1}: {label} done", file=sys.stderr, flush=True)
    medians = {label: median_result(label, results) for label in labels}
    judged = targets(medians)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results_dir / f"tus-uploads-{stamp}.json").write_text(
        json.dumps(
            {
                "options": vars(args),
                "results": [dataclasses.asdict(r) for r in results],
                "medians": [dataclasses.asdict(m) for m in medians.values()],
                "targets": [
                    {**t.ratio.as_dict(), "target": t.target, "intact": t.intact} for t in judged
                ],
                "skipped": skipped,
            },
            indent=2,
        )
    )

    print(tables(results, list(medians.values()), args.runs, BURST_COLUMNS))
    connections = "a new connection each" if args.reconnect else "one connection per upload"
    legend = (
        f"{args.concurrency} uploads of {args.size_mib} MiB at once; tus rows: a POST, then "
        f"PATCHes of {args.chunk_mib} MiB on {connections}; ok: uploads whose every "
        "request was taken (tus: the last PATCH answered 204 with the whole length as "
        "Upload-Offset; /upload: 201); intact: stored files whose SHA-256 matches a sent "
        "payload's; the other columns as in bench.uploads. Pages fetched every 20 ms during "
        "the burst:"
    )
    print("", textwrap.fill(legend, 96), sep="\n")
    for label in labels:
        print(f"  {label}: {PAGES[label]}")
    for label, why in skipped.items():
        print(f"  {label}: skipped: {why}")
    if text := notes(results):
        print(text)
    print("\nTargets (issue 13), from the medians of this run:")
    for target in judged:
        print(f"  {target.line()}")
    if text := reach(medians):
        print(text)


def reach(medians: dict[str, Result]) -> str:
    """How each peer-relative target compares with what the bare ceilings reached in this run."""
    lines = []
    for _, reference, target in TARGETS:
        theirs = medians.get(reference)
        if reference not in TUS_PEERS or theirs is None or not theirs.burst_mb_s:
            continue
        needed = target * theirs.burst_mb_s
        for ceiling in TUS_CEILINGS:
            if (bare := medians.get(ceiling)) and bare.burst_mb_s:
                verdict = "reaches" if bare.burst_mb_s >= needed else "does NOT reach"
                lines.append(
                    f"  {target:.1f} x {reference} is {needed:.0f} MB/s: {ceiling} "
                    f"({bare.burst_mb_s:.0f} MB/s) {verdict} it"
                )
    return (
        "\nWithin reach on this machine? (the bare ceilings)\n" + "\n".join(lines) if lines else ""
    )


if __name__ == "__main__":
    main()
