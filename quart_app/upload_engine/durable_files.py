"""Blocking file primitives whose cleanup a second error cannot skip (run them in threads)."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from .errors import InsufficientStorageError

_FULL_DISK_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT})
_IOV_MAX: Final = os.sysconf("SC_IOV_MAX")

log = logging.getLogger("quart_app.upload_engine")


@contextmanager
def full_disk_as_507() -> Iterator[None]:
    """Turn ENOSPC/EDQUOT raised inside the block into ``InsufficientStorageError``."""
    try:
        yield
    except OSError as error:
        if error.errno in _FULL_DISK_ERRNOS:
            raise InsufficientStorageError("The disk is full.") from error
        raise


def create_exclusive(path: Path) -> int:
    """Create ``path``, which must not exist, and return a descriptor open for writing."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)


def write_all(descriptor: int, buffers: Sequence[bytes | memoryview]) -> None:
    """Write every byte of ``buffers``, in order, in as few calls as the kernel allows."""
    views = [memoryview(buffer) for buffer in buffers]
    while views:
        written = os.writev(descriptor, views[:_IOV_MAX])
        # writev may write less than it is given: drop what went, go on from there.
        done = 0
        while done < len(views) and written >= len(views[done]):
            written -= len(views[done])
            done += 1
        views = views[done:]
        if views and written:
            views[0] = views[0][written:]


def close_and_unlink(path: Path, descriptor: int | None) -> None:
    """Close ``descriptor`` (if any) and delete ``path``; the delete runs even if closing fails."""
    try:
        if descriptor is not None:
            os.close(descriptor)
    except OSError as error:
        log.warning("Closing %s failed: %s", path, error)
    finally:
        path.unlink(missing_ok=True)


def sync_and_close(descriptor: int, *, fsync: bool) -> None:
    """fsync (if asked) and close ``descriptor``; it is closed whatever fsync does."""
    try:
        if fsync:
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_new(path: Path, data: bytes, *, fsync: bool) -> None:
    """Create ``path``, which must not exist, holding ``data``; a failure leaves no file.

    Not atomic: a crash may leave it partly written. The store writes its metadata and
    journals this way under a journal that recovery undoes, which costs one new file rather
    than a temp file and a rename (creating files is the dearest part of a commit here).
    """
    descriptor = create_exclusive(path)
    try:
        try:
            write_all(descriptor, [data])
        finally:
            sync_and_close(descriptor, fsync=fsync)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def write_in_place(path: Path, data: bytes) -> None:
    """Make ``path`` (created if missing) hold ``data``, rewriting the file it is.

    Not atomic either: for a record that a reader only reads under the same lock, and that
    recovery rebuilds after a crash.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        written = os.pwrite(descriptor, data, 0)
        if written != len(data):
            raise OSError(errno.EIO, f"short write to {path}")
        os.ftruncate(descriptor, len(data))
    finally:
        os.close(descriptor)


def fsync_file(path: Path) -> None:
    """Make the file's content durable."""
    _fsync(path, 0)


def fsync_directory(path: Path) -> None:
    """Make the directory's entries (created, renamed, deleted files) durable."""
    _fsync(path, os.O_DIRECTORY)


def _fsync(path: Path, flags: int) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC | flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
