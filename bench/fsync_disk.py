"""What fsync costs on this disk, written the way the upload engine writes.

Run from the repository root:

    .venv/bin/python -m bench.fsync_disk                 # in a temporary folder under uploads/
    .venv/bin/python -m bench.fsync_disk --dir /srv/uploads --files 16 --big-mib 256

FILES files of FILE_MIB MiB, written in WRITE_KIB KiB writes one file at a time, then PARALLEL
at a time (the engine fsyncs in 4 threads), then one file of BIG_MIB MiB; each pattern once
without fsync (the writes return once the page cache holds them) and once with each file and
its folder fsynced before the file counts as written, as the engine does before it answers. MB/s
is bytes over the pattern's wall time. Dirty pages are flushed between measurements, outside
the timing, so that no measurement pays for another's writeback.

CPU is counted two ways, per GB written: this process's threads over the pattern (what a
server is charged for when it writes this way: with fsync, the writeback it waits for runs in
its own threads), and the whole machine's (every core's busy time, from /proc/stat) over the
pattern and the ``sync`` that puts the rest on the disk afterwards, which is the work the
kernel does later when nobody fsyncs. Run it on a quiet machine: other processes count in
the second figure.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from quart_app.upload_engine.durable_files import (
    create_exclusive,
    fsync_directory,
    sync_and_close,
    write_all,
)

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def write_file(path: Path, size: int, block: memoryview, *, fsync: bool) -> None:
    """Write ``size`` bytes of ``block`` repeated; fsync the file and its folder if asked."""
    descriptor = create_exclusive(path)
    try:
        for offset in range(0, size, len(block)):
            write_all(descriptor, [block[: min(len(block), size - offset)]])
    finally:
        sync_and_close(descriptor, fsync=fsync)
    if fsync:
        fsync_directory(path.parent)


@dataclass(frozen=True)
class Figures:
    """One pattern written one way."""

    mb_s: float
    process_cpu_s_per_gb: float
    machine_cpu_s_per_gb: float


def machine_busy_seconds() -> float:
    """Busy time of all cores since boot (everything but idle and iowait), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds() -> float:
    """User and system CPU time of this process's threads."""
    times = os.times()
    return times.user + times.system


def measure(
    folder: Path, sizes: list[int], parallel: int, block: memoryview, *, fsync: bool
) -> Figures:
    """Write one file of each size, ``parallel`` at a time, into an empty folder."""
    for path in folder.iterdir():
        path.unlink()
    os.sync()

    def write(index: int) -> None:
        write_file(folder / f"file-{index}", sizes[index], block, fsync=fsync)

    machine, process = machine_busy_seconds(), process_cpu_seconds()
    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(write, range(len(sizes))))  # list() raises what a write raised
    wall = time.perf_counter() - started
    process = process_cpu_seconds() - process
    os.sync()
    machine = machine_busy_seconds() - machine
    gigabytes = sum(sizes) / 1e9
    return Figures(gigabytes * 1000 / wall, process / gigabytes, machine / gigabytes)


def filesystem(folder: Path) -> str:
    """The device and type of the filesystem that holds ``folder``, from /proc/mounts."""
    best = ("", "?", "?")
    with open("/proc/mounts") as mounts:
        for line in mounts:
            device, mount_point, kind, *_ = line.split()
            inside = folder.is_relative_to(mount_point)
            if inside and len(mount_point) >= len(best[0]):
                best = (mount_point, device, kind)
    return f"{best[2]} on {best[1]} (mounted at {best[0]})"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "uploads", help="where to write")
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--file-mib", type=int, default=8)
    parser.add_argument("--write-kib", type=int, default=256)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--big-mib", type=int, default=1024)
    args = parser.parse_args()

    block = memoryview(os.urandom(args.write_kib * 1024))
    patterns = [
        (
            f"{args.files} x {args.file_mib} MiB, one at a time",
            [args.file_mib * MIB] * args.files,
            1,
        ),
        (
            f"{args.files} x {args.file_mib} MiB, {args.parallel} at a time",
            [args.file_mib * MIB] * args.files,
            args.parallel,
        ),
        (f"1 x {args.big_mib} MiB", [args.big_mib * MIB], 1),
    ]
    folder = args.dir.resolve()
    print(f"{folder}: {filesystem(folder)}; {args.write_kib} KiB writes\n")
    print(
        "| pattern | fsync | MB/s | process CPU-s/GB | machine CPU-s/GB, sync included |\n"
        "|---|---|---|---|---|"
    )
    with tempfile.TemporaryDirectory(dir=folder, prefix=".fsync-disk-") as workdir:
        for name, sizes, parallel in patterns:
            for fsync in (False, True):
                figures = measure(Path(workdir), sizes, parallel, block, fsync=fsync)
                print(
                    f"| {name} | {'yes' if fsync else 'no'} | {figures.mb_s:.0f} "
                    f"| {figures.process_cpu_s_per_gb:.2f} | {figures.machine_cpu_s_per_gb:.2f} |"
                )


if __name__ == "__main__":
    main()
