"""The interface every upload store offers (a local folder, an S3 bucket): what the receiver,
the resumable uploads and the views use, never naming a backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import Protocol, TypeVar

from .stored_files import OpenedFile, StoredFile, StoredPage
from .temp_files import TempUpload, TempWriting

IncomingT = TypeVar("IncomingT", bound="IncomingFile")


class IncomingFile(Protocol):
    """A file being received into a store: written in order, finished, then committed or
    discarded."""

    original_name: str
    content_type: str
    size: int
    sha256: str
    reserved: int

    @property
    def path(self) -> PurePath:
        """Where it is being written (a local path, or a name for log messages)."""

    async def write(self, buffers: Sequence[memoryview | bytes]) -> None:
        """Append ``buffers`` in order."""

    async def finish(self) -> None:
        """Settle what was written; 422 if the expected digest differs."""

    async def discard(self) -> None:
        """Drop everything written; safe at any point and more than once."""

    def forget(self) -> None:
        """Stop counting its bytes as in flight."""


class FileStore(Protocol[IncomingT]):
    """Stored files with quota, published all or none, listed newest first."""

    @property
    def root(self) -> Path:
        """The local folder of the store's state (and, for the local store, its files)."""

    @property
    def fsync(self) -> bool:
        """Whether local writes are flushed to disk before they count."""

    @property
    def quota(self) -> int | None:
        """The most bytes the store may hold, or ``None``."""

    @property
    def writing(self) -> TempWriting:
        """How local temp files (resumable uploads) are written."""

    @property
    def in_flight_bytes(self) -> int:
        """Bytes received in this process and not yet committed or discarded."""

    async def prepare(self) -> None:
        """Get ready to serve and recover from any crash."""

    async def close(self) -> None:
        """Let go of what this instance holds."""

    async def check_reachable(self) -> bool:
        """Whether the store can be written to now."""

    async def begin(
        self, original_name: str, content_type: str, *, expected_sha256: str | None = None
    ) -> IncomingT:
        """Start receiving one file."""

    def fits(self, extra_bytes: int) -> bool:
        """Whether ``extra_bytes`` more fit the quota as last read."""

    async def ensure_room(self, extra_bytes: int) -> None:
        """507 unless ``extra_bytes`` more fit the quota, read now."""

    async def commit(self, uploads: Sequence[IncomingT | TempUpload]) -> list[StoredFile]:
        """Publish finished files, all or none."""

    async def get(self, name: str) -> StoredFile | None:
        """The stored file ``name``, or ``None``."""

    async def open(self, name: str) -> OpenedFile | None:
        """The stored file ``name`` opened for reading, or ``None``."""

    async def delete(self, name: str) -> bool:
        """Remove a stored file; ``False`` if there was none."""

    async def list_page(self, page: int, per_page: int) -> StoredPage:
        """Stored files, newest first, a page at a time."""

    async def used_bytes(self) -> int:
        """Bytes recorded in the usage ledger."""

    def reserve_blocking(self, extra_bytes: int, record: Callable[[], None]) -> None:
        """Reserve bytes in the ledger and record the reservation, under its lock."""

    def count_reservations_with(self, counter: Callable[[], int]) -> None:
        """Have recovery add ``counter()`` to the ledger."""
