"""The quota ledger a store shares with every process on its state folder.

``.meta/.usage`` holds the bytes published plus the bytes reserved (by resumable uploads);
every change to it happens under an exclusive ``flock`` on ``.meta/.lock``, which the store
also holds while it publishes, so that a commit and its ledger entry are one step.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import ClassVar, Final

from .cancel_safe import acquire_in_thread
from .durable_files import full_disk_as_507, write_in_place
from .errors import InsufficientStorageError
from .stored_files import StoredFile, StoredPage
from .temp_files import InFlightBytes

META_DIR: Final = ".meta"
_LOCK_FILE: Final = ".lock"
_USAGE_FILE: Final = ".usage"


class UsageLedger:
    """Bytes used and reserved in a store, read and written under the folder's lock."""

    # Whether the ledger also keeps the published files' records, which the store then
    # reads and lists from it (``describe``, ``page``) rather than from beside the files.
    keeps_catalog: ClassVar[bool] = False

    def __init__(
        self,
        meta_dir: Path,
        *,
        quota: int | None,
        write_file: Callable[[Path, bytes], None] = write_in_place,
    ) -> None:
        self.meta_dir = meta_dir
        self.quota = quota
        self._write_file = write_file
        self.in_flight = InFlightBytes()
        self.used = 0
        self._reservation_counters: list[Callable[[], int]] = []

    @contextmanager
    def locked(self, *, shared: bool = False) -> Iterator[None]:
        """Hold the folder's lock, exclusive unless ``shared``."""
        descriptor = self._lock_blocking(shared=shared)
        try:
            yield
        finally:
            os.close(descriptor)

    @asynccontextmanager
    async def locked_from_loop(self, *, shared: bool = False) -> AsyncIterator[None]:
        """Hold the folder's lock across awaits (waiting for it in a thread)."""
        descriptor = await acquire_in_thread(partial(self._lock_blocking, shared=shared), os.close)
        try:
            yield
        finally:
            os.close(descriptor)

    def _lock_blocking(self, *, shared: bool) -> int:
        descriptor = os.open(
            self.meta_dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666
        )
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        except BaseException:
            os.close(descriptor)
            raise
        return descriptor

    def read(self) -> int:
        """The ledger's total, read now; call under the lock."""
        try:
            self.used = int((self.meta_dir / _USAGE_FILE).read_text() or 0)
        except FileNotFoundError:
            self.used = 0
        return self.used

    def read_shared(self) -> int:
        """The ledger's total, read under the shared lock."""
        with self.locked(shared=True):
            return self.read()

    def write(self, total: int) -> None:
        """Record ``total``; call under the exclusive lock."""
        self._write_file(self.meta_dir / _USAGE_FILE, str(total).encode())
        self.used = total

    async def start(self) -> None:
        """Get ready before the first use, on the event loop that will use it."""

    async def stop(self) -> None:
        """Let go of what ``start`` opened."""

    async def total(self) -> int:
        """The ledger's total, read now; call under the exclusive lock."""
        return await asyncio.to_thread(self.read)

    async def record_publication(
        self, used: int, files: Sequence[StoredFile], consumed: int
    ) -> None:
        """Record ``files`` made public, which take over reservations of ``consumed`` bytes;
        ``used`` is the total read under this same hold of the lock."""
        published = sum(file.size for file in files)
        await asyncio.to_thread(self.write, used + published - consumed)

    async def record_deletion(self, file: StoredFile) -> None:
        """Record a published file deleted; under the exclusive lock."""
        await asyncio.to_thread(lambda: self.write(max(self.read() - file.size, 0)))

    async def recount(
        self,
        objects: Mapping[str, int],
        record_of: Callable[[str], Awaitable[StoredFile | None]],
    ) -> list[str]:
        """Set the ledger from the published files found now (``objects``: their sizes by
        name) and the reservations of this state folder's uploads; under the exclusive lock.
        ``record_of`` reads a file's record where the store keeps it (a catalog adopts
        files it lacks by it); the names of files the store should remove, found neither
        recorded nor adoptable (none here: the store's own records say what it holds)."""
        reserved = await asyncio.to_thread(self.reserved_total)
        await asyncio.to_thread(self.write, sum(objects.values()) + reserved)
        return []

    async def describe(self, name: str) -> StoredFile | None:
        """The catalog's record of ``name`` (a catalog only)."""
        raise NotImplementedError

    async def page(self, page: int, per_page: int) -> StoredPage:
        """The catalog's records, newest first, a page at a time (a catalog only)."""
        raise NotImplementedError

    def exceeds_quota(self, used: int, incoming: int) -> bool:
        """Whether ``incoming`` more bytes on top of ``used`` break the quota."""
        return self.quota is not None and used + incoming > self.quota

    def count_reservations_with(self, counter: Callable[[], int]) -> None:
        """Have recovery add ``counter()`` (bytes reserved) to the ledger."""
        self._reservation_counters.append(counter)

    def reserved_total(self) -> int:
        """Bytes reserved by every counter; recovery calls it under the exclusive lock."""
        return sum(count() for count in self._reservation_counters)

    def reserve_blocking(self, extra_bytes: int, record: Callable[[], None]) -> None:
        """Reserve ``extra_bytes`` (release them if negative) and ``record()`` the
        reservation, both under the exclusive lock; 507 if they do not fit the quota."""
        with self.locked(), full_disk_as_507():
            used = self.read()
            if extra_bytes > 0 and self.exceeds_quota(used, extra_bytes):
                raise InsufficientStorageError("The upload would exceed the storage quota.")
            record()
            self.write(max(used + extra_bytes, 0))

    def fits(self, extra_bytes: int) -> bool:
        """Whether ``extra_bytes`` more fit the quota by the ledger as last read (no I/O)."""
        return not self.exceeds_quota(self.used + self.in_flight.count, extra_bytes)

    async def ensure_room(self, extra_bytes: int) -> None:
        """Raise 507 unless ``extra_bytes`` more fit the quota by the ledger, read now."""
        if self.quota is None:
            return
        await asyncio.to_thread(self.read_shared)
        if not self.fits(extra_bytes):
            raise InsufficientStorageError("The upload would exceed the storage quota.")
