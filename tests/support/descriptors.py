"""What this process holds open, read from /proc/self/fd."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from .store_files import is_bookkeeping


def descriptors_open_under(folder: Path) -> list[str]:
    """Paths inside `folder` that this process holds an open descriptor on, but the owner
    lock that an open store holds for as long as it runs."""
    inside = f"{folder.resolve()}{os.sep}"
    targets = []
    for descriptor in os.listdir("/proc/self/fd"):
        with suppress(FileNotFoundError):
            targets.append(os.readlink(f"/proc/self/fd/{descriptor}"))
    return sorted(
        target for target in targets if target.startswith(inside) and not is_bookkeeping(target)
    )
