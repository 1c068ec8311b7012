"""Faults to inject where the real one cannot be arranged."""

from __future__ import annotations

import errno
import os
from typing import NoReturn


def disk_full_error() -> OSError:
    """The error a write, fsync or close raises on a full disk."""
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def no_space(*_: object) -> NoReturn:
    """Stand in for any file operation on a full disk."""
    raise disk_full_error()
