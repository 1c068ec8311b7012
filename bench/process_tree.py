"""Memory and CPU time of a server's whole process tree, read from /proc."""

from __future__ import annotations

import os
import threading
import time
from contextlib import suppress

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[bytes]:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        # The command name may hold spaces and parentheses: split after its closing one.
        return stat.read().rsplit(b")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with suppress(OSError):
                children.setdefault(int(_stat_fields(int(entry))[1]), []).append(int(entry))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def tree_rss(pids: list[int]) -> int:
    """Resident bytes of the processes still alive."""
    total = 0
    for pid in pids:
        with suppress(OSError), open(f"/proc/{pid}/statm", "rb") as statm:
            total += int(statm.read().split()[1]) * PAGE_SIZE
    return total


def tree_cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU seconds the processes have used so far."""
    ticks = 0
    for pid in pids:
        with suppress(OSError):
            fields = _stat_fields(pid)
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def settle_rss(pids: list[int]) -> int:
    """The least RSS over half a second: the baseline that growth is measured from."""
    samples = []
    for _ in range(10):
        samples.append(tree_rss(pids))
        time.sleep(0.05)
    return min(samples)


def own_cpu_seconds() -> float:
    """User plus system CPU seconds of the calling process."""
    times = os.times()
    return times.user + times.system


class MemorySampler:
    """Samples the tree's RSS every 10 ms in a thread; keeps the peak."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
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
