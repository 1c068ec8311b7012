"""Files being received: written once while hashed, owned by a live process, never left behind."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import secrets
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

from .cancel_safe import acquire_in_thread
from .durable_files import (
    close_and_unlink,
    create_exclusive,
    full_disk_as_507,
    sync_and_close,
    write_all,
)
from .errors import DigestMismatchError
from .writer_thread import WriterThread

_TEMP_SUFFIX: Final = ".part"
_OWNER_SUFFIX: Final = ".owner"


class InFlightBytes:
    """Bytes written to temp files and not yet committed or discarded, in this process."""

    def __init__(self) -> None:
        self.count = 0


@dataclass(frozen=True, slots=True)
class TempWriting:
    """How a store writes its temp files: with fsync or not, in which threads, counted where."""

    fsync: bool
    writer: WriterThread
    flush_executor: Executor
    in_flight: InFlightBytes


class TempFolder:
    """The folder of files being received, each owned by the store instance writing it.

    An instance holds an exclusive ``flock`` on its own ``<instance>.owner`` file for as
    long as it is open, and names its temp files ``<instance>.<token>.part``. The kernel
    drops the lock when the process dies however it dies, so an owner file whose lock can
    be taken marks a dead instance whose temp files may go. No PID is trusted: a zombie or
    a reused PID holds no lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.instance = secrets.token_hex(8)
        self._owner: int | None = None

    def new_path(self) -> Path:
        """A fresh temp file name of this instance."""
        return self.path / f"{self.instance}.{secrets.token_hex(8)}{_TEMP_SUFFIX}"

    def claim(self) -> None:
        """Take ownership of this instance's name; run under the store's exclusive lock."""
        if self._owner is not None:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        owner = create_exclusive(self.path / f"{self.instance}{_OWNER_SUFFIX}")
        fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._owner = owner

    def sweep(self) -> int:
        """Delete the temp files of instances that are gone; run under the store's lock.

        Claims happen under the same lock, so an owner file seen unlocked here is not one
        whose instance is about to lock it.
        """
        dead = self.dead_files()
        for path in dead:
            path.unlink(missing_ok=True)
        self.drop_dead_owners()
        return len(dead)

    def dead_files(self) -> list[Path]:
        """The files of instances that are gone, left in place; run under the store's lock."""
        live = self._live_instances()
        return [
            Path(entry.path)
            for entry in os.scandir(self.path)
            if entry.name.endswith(_TEMP_SUFFIX) and entry.name.partition(".")[0] not in live
        ]

    def drop_dead_owners(self) -> None:
        """Delete the owner files of gone instances that have no file left."""
        live = self._live_instances()
        with_files = {
            entry.name.partition(".")[0]
            for entry in os.scandir(self.path)
            if entry.name.endswith(_TEMP_SUFFIX)
        }
        for instance, path in self._owners().items():
            if instance not in live and instance not in with_files:
                Path(path).unlink(missing_ok=True)

    def _owners(self) -> dict[str, str]:
        return {
            entry.name.removesuffix(_OWNER_SUFFIX): entry.path
            for entry in os.scandir(self.path)
            if entry.name.endswith(_OWNER_SUFFIX)
        }

    def _live_instances(self) -> set[str]:
        return {
            instance
            for instance, path in self._owners().items()
            if instance == self.instance or not _lock_is_free(path)
        }

    def own_files(self) -> list[Path]:
        """This instance's files in the folder."""
        prefix = f"{self.instance}."
        return [
            Path(entry.path)
            for entry in os.scandir(self.path)
            if entry.name.startswith(prefix) and entry.name.endswith(_TEMP_SUFFIX)
        ]

    def release(self, *, keep_files: bool = False) -> None:
        """Delete what this instance still has in the folder and give up ownership; with
        ``keep_files``, leave it all for a later start to sweep, as a dead instance's."""
        if self._owner is None:
            return
        if not keep_files:
            for path in self.own_files():
                path.unlink(missing_ok=True)
            (self.path / f"{self.instance}{_OWNER_SUFFIX}").unlink(missing_ok=True)
        owner, self._owner = self._owner, None
        os.close(owner)


def _lock_is_free(path: str) -> bool:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


class TempUpload:
    """A file being received: written once to a temp file while its SHA-256 is computed."""

    def __init__(
        self,
        path: Path,
        descriptor: int,
        *,
        original_name: str,
        content_type: str,
        expected_sha256: str | None,
        writing: TempWriting,
    ) -> None:
        self.path = path
        self.original_name = original_name
        self.content_type = content_type
        self.expected_sha256 = expected_sha256
        self.size = 0
        self.sha256 = ""
        # Bytes of it already reserved in the store's ledger (a resumable upload's).
        self.reserved = 0
        self._descriptor: int | None = descriptor
        self._hash = hashlib.sha256()
        self._writing = writing
        self._loop = asyncio.get_running_loop()
        # The thread still using the descriptor, if the caller stopped waiting for it.
        self._busy: asyncio.Future[None] | None = None

    async def write(self, buffers: Sequence[memoryview | bytes]) -> None:
        """Append ``buffers``, in order, to the temp file."""
        assert self._descriptor is not None, "write after finish"
        # One hand-off to the writer thread both hashes and writes a whole batch: hashing
        # on the event loop took a third of its time (see docs/performance.md).
        busy = self._writing.writer.submit(
            hash_and_write, (self._hash,), self._descriptor, buffers
        )
        self._busy = busy
        with full_disk_as_507():
            # Shielded: a cancelled caller must not close the descriptor under the thread.
            await asyncio.shield(busy)
        self._busy = None
        size = sum(len(buffer) for buffer in buffers)
        self.size += size
        self._writing.in_flight.count += size

    async def finish(self) -> None:
        """fsync (if configured) and close; raise 422 if the digest differs."""
        assert self._descriptor is not None, "finish twice"
        descriptor, self._descriptor = self._descriptor, None
        closing = (
            # fsync waits for the disk: not in the thread that writes every upload.
            self._loop.run_in_executor(
                self._writing.flush_executor, partial(sync_and_close, descriptor, fsync=True)
            )
            if self._writing.fsync
            else self._writing.writer.submit(partial(sync_and_close, descriptor, fsync=False))
        )
        with full_disk_as_507():
            await asyncio.shield(closing)
        self.sha256 = self._hash.hexdigest()
        if self.expected_sha256 is not None and self.expected_sha256 != self.sha256:
            raise DigestMismatchError(f"{self.original_name!r} has SHA-256 {self.sha256}.")

    async def discard(self) -> None:
        """Close and delete the temp file; safe at any point and more than once."""
        busy, self._busy = self._busy, None
        if busy is not None:
            await asyncio.wait([busy])
        descriptor, self._descriptor = self._descriptor, None
        self.forget()
        await self._writing.writer.submit(close_and_unlink, self.path, descriptor)

    @classmethod
    def received(
        cls,
        path: Path,
        *,
        size: int,
        sha256: str,
        reserved: int,
        original_name: str,
        content_type: str,
        writing: TempWriting,
    ) -> TempUpload:
        """A file received whole by other means (a resumable upload), ready to commit."""
        upload = cls(
            path,
            -1,
            original_name=original_name,
            content_type=content_type,
            expected_sha256=None,
            writing=writing,
        )
        upload._descriptor = None
        upload.size, upload.sha256, upload.reserved = size, sha256, reserved
        writing.in_flight.count += size
        return upload

    def forget(self) -> None:
        """Stop counting this file's bytes as in flight (it was committed or discarded)."""
        self._writing.in_flight.count -= self.size
        self.size = 0


async def create_temp_file(path: Path, writer: WriterThread) -> int:
    """Create the temp file at ``path`` in ``writer``'s thread; a caller cancelled meanwhile
    leaves nothing behind."""
    with full_disk_as_507():
        return await acquire_in_thread(
            partial(create_exclusive, path), partial(close_and_unlink, path), submit=writer.submit
        )


def hash_and_write(
    digests: Sequence[hashlib._Hash], descriptor: int, buffers: Sequence[memoryview | bytes]
) -> None:
    """Feed ``buffers`` to every digest and write them; for the writer thread."""
    for buffer in buffers:
        for digest in digests:
            digest.update(buffer)
    write_all(descriptor, buffers)
