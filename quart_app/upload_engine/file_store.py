"""The one interface every upload store offers (the local folder, an S3 bucket): what the
engine, the resumable uploads and the views call, never a backend by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import Protocol

from .stored_files import OpenedFile, StoredFile, StoredPage
from .temp_files import TempWriting


class IncomingFile(Protocol):
    """One file being received into a store, until it is committed or discarded."""

    original_name: str
    content_type: str
    size: int
    sha256: str
    reserved: int

    @property
    def path(self) -> PurePath:
        """Where it is being received, for log messages."""

    async def write(self, buffers: Sequence[memoryview | bytes]) -> None:
        """Append ``buffers``, in order, hashing them."""

    async def finish(self) -> None:
        """Everything has arrived: make it ready to commit (422 on a digest mismatch)."""

    async def discard(self) -> None:
        """Drop whatever was received; safe at any point and more than once."""

    def forget(self) -> None:
        """Stop counting its bytes as in flight (committed or discarded)."""


class FileStore(Protocol):
    """Published files with their metadata, a quota, and files being received."""

    root: Path  # the local folder of its ledger and of uploads in progress
    quota: int | None
    fsync: bool

    @property
    def writing(self) -> TempWriting:
        """How files being received are written (writer thread, fsync, counting)."""

    @property
    def in_flight_bytes(self) -> int:
        """Bytes received and not yet committed or discarded, in this process."""

    async def prepare(self) -> None:
        """Open the store and recover from any crash; before serving."""

    async def close(self) -> None:
        """Let go of everything it holds; after serving."""

    async def check_reachable(self) -> bool:
        """Whether the store takes files now (for /healthz)."""

    async def begin(
        self, original_name: str, content_type: str, *, expected_sha256: str | None = None
    ) -> IncomingFile:
        """Start receiving one file."""

    def fits(self, extra_bytes: int) -> bool:
        """Whether ``extra_bytes`` more fit the quota, by what is known without I/O."""

    async def ensure_room(self, extra_bytes: int) -> None:
        """507 unless ``extra_bytes`` more fit the quota now."""

    async def commit(self, uploads: Sequence[IncomingFile]) -> list[StoredFile]:
        """Publish finished files under new unique names, all or none."""

    async def get(self, name: str) -> StoredFile | None:
        """The stored file called ``name``, or ``None``."""

    async def open(self, name: str) -> OpenedFile | None:
        """The stored file ``name`` opened for reading, or ``None``; the caller closes it."""

    async def delete(self, name: str) -> bool:
        """Remove a stored file; ``False`` if there was none."""

    async def list_page(self, page: int, per_page: int) -> StoredPage:
        """Stored files, newest first, a page at a time."""

    async def used_bytes(self) -> int:
        """Bytes held by published files and reservations, by the shared ledger."""

    def reserve_blocking(self, extra_bytes: int, record: Callable[[], None]) -> None:
        """Reserve (or release) bytes in the ledger with ``record()``, under its lock."""

    def count_reservations_with(self, counter: Callable[[], int]) -> None:
        """Have recovery add ``counter()`` (bytes reserved on disk) to the ledger."""
