"""The store: atomic publication of finished temp files, metadata, quota and crash recovery.

Layout of the folder: published files at the top, ``.meta/<name>.json`` beside each, a
quota ledger ``.meta/.usage``, commit journals ``.meta/.commit-*.json`` and ``.tmp/`` for
files being received. Every change to published files, metadata and the ledger happens
under an exclusive ``flock`` on ``.meta/.lock``, shared by every process on the folder;
readers take it shared, so they never see half a commit.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import stat
import time
import warnings
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any, Final

from .cancel_safe import acquire_in_thread
from .commit_groups import publish_and_settle
from .durable_files import (
    fsync_directory,
    fsync_file,
    full_disk_as_507,
    log,
    write_in_place,
    write_new,
)
from .errors import InsufficientStorageError
from .ledger import META_DIR, UsageLedger
from .stored_files import (
    OpenedFile,
    StoredFile,
    StoredPage,
    is_stored_name,
    safe_stored_name,
    stored_file_from_json,
)
from .temp_files import TempFolder, TempUpload, TempWriting, create_temp_file
from .writer_thread import WriterThread

_TEMP_DIR: Final = ".tmp"
_JOURNAL_PREFIX: Final = ".commit-"
_READ_CHUNK: Final = 256 * 1024
_FLUSH_THREADS: Final = 4


class LocalOpenedFile(OpenedFile):
    """A stored file held open by its descriptor: its content outlives a delete."""

    def __init__(self, stored: StoredFile, descriptor: int, size: int) -> None:
        super().__init__(stored, size)
        self.descriptor = descriptor
        # A read's thread may still be in pread after its caller was cancelled: closing then
        # could hand the descriptor's number to another file under it.
        self._reading: asyncio.Future[bytes] | None = None
        self._finalizer = weakref.finalize(self, _close_forgotten, descriptor)

    async def chunks(self, first: int, last: int) -> AsyncIterator[bytes]:
        """Read with ``os.pread`` in worker threads, a chunk at a time."""
        loop = asyncio.get_running_loop()
        for start in range(first, last + 1, _READ_CHUNK):
            length = min(_READ_CHUNK, last + 1 - start)
            self._reading = loop.run_in_executor(None, os.pread, self.descriptor, length, start)
            data = await asyncio.shield(self._reading)
            if len(data) != length:
                # Stored files never change; sending less than announced corrupts silently.
                raise OSError(f"{self.stored.name} is shorter than when it was opened")
            yield data

    def close(self) -> None:
        """Close the descriptor once no read is using it; later calls do nothing."""
        reading, self._reading = self._reading, None
        if reading is not None and not reading.done():
            reading.add_done_callback(lambda _: self.close())
            return
        if self._finalizer.detach() is not None:
            os.close(self.descriptor)


def _close_forgotten(descriptor: int) -> None:
    os.close(descriptor)
    warnings.warn("a stored file was opened and never closed", ResourceWarning, stacklevel=1)


def _close_if_opened(opened: OpenedFile | None) -> None:
    if opened is not None:
        opened.close()


class UploadStore:
    """Files in one folder, with hidden temp and metadata folders and a shared usage ledger."""

    def __init__(self, root: Path, *, quota: int | None = None, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        self._meta_dir = root / META_DIR
        # The ledger's file writes go through this module's name, looked up at each call, so
        # that the crash tests, which wrap it, count the ledger's write as a commit's step.
        self.ledger = UsageLedger(
            self._meta_dir, quota=quota, write_file=lambda path, data: write_in_place(path, data)
        )
        self._temp = TempFolder(root / _TEMP_DIR)
        self._lock = asyncio.Lock()
        self._waiting_commits: list[tuple[Sequence[TempUpload], asyncio.Future[Any]]] = []
        self._committer: asyncio.Future[None] | None = None
        # fsync waits for the disk; in the default pool it would hold up other uploads' writes.
        self.flush_executor = ThreadPoolExecutor(_FLUSH_THREADS, thread_name_prefix="upload-flush")
        # A commit's metadata is fsynced at once in these, never behind a whole file's fsync.
        self._metadata_flush = ThreadPoolExecutor(_FLUSH_THREADS, thread_name_prefix="meta-flush")
        self._writer = WriterThread("upload-writer")
        self._writing = TempWriting(
            fsync, self._writer, self.flush_executor, self.ledger.in_flight
        )

    @property
    def quota(self) -> int | None:
        """The most bytes the store may hold, or ``None`` for no limit."""
        return self.ledger.quota

    @property
    def writing(self) -> TempWriting:
        """How this store writes files being received (its writer thread, fsync, counting)."""
        return self._writing

    def count_reservations_with(self, counter: Callable[[], int]) -> None:
        """Have recovery add ``counter()`` (bytes reserved on disk) to the usage ledger.

        Recovery calls it under the exclusive lock, after any interrupted commit is settled.
        """
        self.ledger.count_reservations_with(counter)

    def reserve_blocking(self, extra_bytes: int, record: Callable[[], None]) -> None:
        """Reserve ``extra_bytes`` (release them if negative) in the ledger and ``record()``
        the reservation, both under the exclusive lock; 507 if they do not fit the quota."""
        self.ledger.reserve_blocking(extra_bytes, record)

    @property
    def in_flight_bytes(self) -> int:
        """Bytes received into this process's temp files and not yet committed or discarded."""
        return self.ledger.in_flight.count

    async def prepare(self) -> None:
        """Create the folders, claim this instance's temp files, recover from any crash."""
        await asyncio.to_thread(self._prepare_blocking)

    async def close(self) -> None:
        """Delete this instance's remaining temp files and let its threads end."""
        self._writer.stop()
        self.flush_executor.shutdown(wait=False)
        self._metadata_flush.shutdown(wait=False)
        await asyncio.to_thread(self._temp.release)

    async def begin(
        self, original_name: str, content_type: str, *, expected_sha256: str | None = None
    ) -> TempUpload:
        """Open a new temp file for one incoming file."""
        path = self._temp.new_path()
        return TempUpload(
            path,
            await create_temp_file(path, self._writer),
            original_name=original_name,
            content_type=content_type,
            expected_sha256=expected_sha256,
            writing=self._writing,
        )

    def fits(self, extra_bytes: int) -> bool:
        """Whether ``extra_bytes`` more fit the quota by the ledger as last read (no I/O)."""
        return self.ledger.fits(extra_bytes)

    async def ensure_room(self, extra_bytes: int) -> None:
        """Raise 507 unless ``extra_bytes`` more fit the quota by the shared ledger, read now."""
        await self.ledger.ensure_room(extra_bytes)

    async def check_reachable(self) -> bool:
        """Whether the folder can be written to now (for a health check)."""
        return await asyncio.to_thread(os.access, self.root, os.W_OK | os.X_OK)

    async def commit(self, uploads: Sequence[TempUpload]) -> list[StoredFile]:
        """Publish finished temp files under new unique names, all or none.

        The temp files are gone afterwards whatever the outcome. Cancelling the caller
        (a client gone at the last moment) does not stop a commit once it has begun.
        Commits that arrive while another is being written are written together, in one
        journal with one round of fsyncs, each still all or none.
        """
        return await asyncio.shield(self._commit(uploads))

    async def _commit(self, uploads: Sequence[TempUpload]) -> list[StoredFile]:
        try:
            published: asyncio.Future[list[StoredFile]] = (
                asyncio.get_running_loop().create_future()
            )
            self._waiting_commits.append((uploads, published))
            if self._committer is None or self._committer.done():
                self._committer = asyncio.ensure_future(self._commit_waiting())
            return await published
        finally:
            for upload in uploads:
                upload.forget()

    async def _commit_waiting(self) -> None:
        async with self._lock:
            while self._waiting_commits:
                group, self._waiting_commits = self._waiting_commits, []
                await publish_and_settle(
                    group,
                    partial(
                        asyncio.to_thread,
                        self._commit_group_blocking,
                        [uploads for uploads, _ in group],
                    ),
                )

    async def get(self, name: str) -> StoredFile | None:
        """The stored file called ``name``, or ``None``."""
        if not is_stored_name(name):
            return None
        return await asyncio.to_thread(self._read_metadata_shared, name)

    async def open(self, name: str) -> OpenedFile | None:
        """The stored file ``name`` opened for reading, or ``None``; the caller closes it."""
        if not is_stored_name(name):
            return None
        return await acquire_in_thread(partial(self._open_blocking, name), _close_if_opened)

    def _open_blocking(self, name: str) -> OpenedFile | None:
        # The file before its metadata: once open, a delete can no longer take the content away.
        with self._locked(shared=True):
            try:
                descriptor = os.open(self.root / name, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return None
            try:
                status = os.fstat(descriptor)
                stored = self._read_metadata(name) if stat.S_ISREG(status.st_mode) else None
            except BaseException:
                os.close(descriptor)
                raise
        if stored is None:
            os.close(descriptor)
            return None
        return LocalOpenedFile(stored, descriptor, status.st_size)

    async def delete(self, name: str) -> bool:
        """Remove a stored file and its metadata; ``False`` if there was none."""
        if not is_stored_name(name):
            return False
        async with self._lock:
            return await asyncio.to_thread(self._delete_blocking, name)

    async def list_page(self, page: int, per_page: int) -> StoredPage:
        """Stored files, newest first, ``per_page`` at a time (pages count from 1)."""
        return await asyncio.to_thread(self._list_blocking, max(page, 1), max(per_page, 1))

    async def used_bytes(self) -> int:
        """Bytes held by published files, as recorded in the shared ledger."""
        return await asyncio.to_thread(self.ledger.read_shared)

    def _prepare_blocking(self) -> None:
        for folder in (self.root, self._temp.path, self._meta_dir):
            folder.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self._temp.claim()
            if removed := self._temp.sweep():
                log.warning("Removed %d temp files left by stopped processes", removed)
            self._recover()

    def _locked(self, *, shared: bool = False) -> AbstractContextManager[None]:
        return self.ledger.locked(shared=shared)

    def _meta_path(self, name: str) -> Path:
        return self._meta_dir / f"{name}.json"

    def _commit_group_blocking(
        self, group: Sequence[Sequence[TempUpload]]
    ) -> list[list[StoredFile] | Exception]:
        """Commit each request's uploads, all of them in one journal if they can be."""
        try:
            with self._locked():
                return self._publish_group(group)
        finally:
            for uploads in group:
                for upload in uploads:
                    _unlink_quietly(upload.path)

    def _publish_group(
        self, group: Sequence[Sequence[TempUpload]]
    ) -> list[list[StoredFile] | Exception]:
        used = self.ledger.read()
        refused: dict[int, Exception] = {}
        incoming = 0
        for index, uploads in enumerate(group):
            size = _incoming(uploads)
            if self.ledger.exceeds_quota(used, incoming + size):
                refused[index] = InsufficientStorageError(
                    "The upload would exceed the storage quota."
                )
            else:
                incoming += size
        accepted = [uploads for index, uploads in enumerate(group) if index not in refused]
        try:
            with full_disk_as_507():
                stored = self._publish_all([u for us in accepted for u in us], used + incoming)
        except Exception as error:
            if len(accepted) > 1:
                # One request's trouble must not be another's: publish them one by one.
                return [refused.get(i) or self._publish_alone(us) for i, us in enumerate(group)]
            return [refused.get(index, error) for index in range(len(group))]
        files = iter(stored)
        return [refused.get(i) or [next(files) for _ in us] for i, us in enumerate(group)]

    def _publish_alone(self, uploads: Sequence[TempUpload]) -> list[StoredFile] | Exception:
        try:
            with full_disk_as_507():
                used = self.ledger.read()
                incoming = _incoming(uploads)
                if self.ledger.exceeds_quota(used, incoming):
                    raise InsufficientStorageError("The upload would exceed the storage quota.")
                return self._publish_all(uploads, used + incoming)
        except Exception as error:
            return error

    def _publish_all(self, uploads: Sequence[TempUpload], usage_after: int) -> list[StoredFile]:
        """Publish under a journal, so that a crash at any point is undone at the next start."""
        stored = self._describe_all(uploads)
        names = [file.name for file in stored]
        journal = self._meta_dir / f"{_JOURNAL_PREFIX}{secrets.token_hex(8)}.json"
        write_new(journal, json.dumps(names).encode(), fsync=self.fsync)
        linked: list[str] = []
        try:
            if self.fsync:
                # The journal must be on disk before any file it undoes.
                fsync_directory(self._meta_dir)
            # Metadata first: a published file always has it, even after a crash.
            described = [self._meta_path(file.name) for file in stored]
            for path, file in zip(described, stored, strict=True):
                write_new(path, json.dumps(asdict(file)).encode(), fsync=False)
            if self.fsync:
                # At once, so that the filesystem commits them together: one at a time, each
                # waited for its own journal commit (about 2 ms here).
                list(self._metadata_flush.map(fsync_file, described))
            for upload, file in zip(uploads, stored, strict=True):
                os.link(upload.path, self.root / file.name)
                linked.append(file.name)
            if self.fsync:
                fsync_directory(self._meta_dir)
                fsync_directory(self.root)
            self.ledger.write(usage_after)
        except BaseException:
            if self._roll_back(names, linked):
                journal.unlink(missing_ok=True)
            raise
        journal.unlink(missing_ok=True)
        return stored

    def _describe_all(self, uploads: Sequence[TempUpload]) -> list[StoredFile]:
        created = time.time()
        stored: list[StoredFile] = []
        for upload in uploads:
            name = safe_stored_name(upload.original_name)
            # Under the exclusive lock no other commit can take a name checked free here.
            while self._name_taken(name) or any(file.name == name for file in stored):
                name = safe_stored_name(upload.original_name)
            stored.append(
                StoredFile(
                    name=name,
                    original_name=upload.original_name,
                    size=upload.size,
                    sha256=upload.sha256,
                    content_type=upload.content_type,
                    created=created,
                )
            )
        return stored

    def _name_taken(self, name: str) -> bool:
        return os.path.lexists(self.root / name) or os.path.lexists(self._meta_path(name))

    def _roll_back(self, names: Sequence[str], linked: Sequence[str]) -> bool:
        """Undo a failed commit; ``False`` leaves its journal for recovery to finish."""
        try:
            for name in names:
                if name in linked:
                    (self.root / name).unlink(missing_ok=True)
                self._meta_path(name).unlink(missing_ok=True)
        except OSError:
            log.exception("Undoing a failed commit failed; the next start will finish it")
            return False
        return True

    def _recover(self) -> None:
        """Reconcile files, metadata and the ledger after any crash; under the exclusive lock."""
        for journal in sorted(self._meta_dir.glob(f"{_JOURNAL_PREFIX}*.json")):
            names = _journal_names(journal)
            if not all(self._is_complete(name) for name in names):
                log.warning("Undoing an interrupted commit of %s", ", ".join(names))
                for name in names:
                    self._remove(name)
            journal.unlink()
        total = self.ledger.reserved_total()
        for entry in os.scandir(self._meta_dir):
            name = entry.name.removesuffix(".json")
            if entry.name.startswith(".") or name == entry.name:
                continue
            if not (self.root / name).is_file():
                # An interrupted delete removed the file and not yet its metadata.
                Path(entry.path).unlink(missing_ok=True)
            elif stored := self._read_metadata(name):
                total += stored.size
        self.ledger.write(total)

    def _is_complete(self, name: str) -> bool:
        return (self.root / name).is_file() and self._meta_path(name).is_file()

    def _remove(self, name: str) -> None:
        # The file goes first: metadata without its file is what recovery knows to remove.
        (self.root / name).unlink(missing_ok=True)
        self._meta_path(name).unlink(missing_ok=True)

    def _delete_blocking(self, name: str) -> bool:
        with self._locked():
            stored = self._read_metadata(name)
            if stored is None:
                return False
            self._remove(name)
            try:
                self.ledger.write(max(self.ledger.read() - stored.size, 0))
            except OSError:
                # The file is gone either way; the ledger overstates usage until the next start.
                log.exception("Recording the deletion of %s in the usage ledger failed", name)
            return True

    def _read_metadata_shared(self, name: str) -> StoredFile | None:
        with self._locked(shared=True):
            return self._read_metadata(name)

    def _read_metadata(self, name: str) -> StoredFile | None:
        try:
            data = self._meta_path(name).read_bytes()
        except FileNotFoundError:
            return None
        if not (self.root / name).is_file():
            return None
        return stored_file_from_json(name, data)

    def _list_blocking(self, page: int, per_page: int) -> StoredPage:
        with self._locked(shared=True):
            entries: list[tuple[int, str]] = []
            for entry in os.scandir(self._meta_dir):
                if entry.name.endswith(".json") and not entry.name.startswith("."):
                    try:
                        entries.append(
                            (entry.stat().st_mtime_ns, entry.name.removesuffix(".json"))
                        )
                    except FileNotFoundError:
                        continue
            entries.sort(key=lambda item: (-item[0], item[1]))
            total = len(entries)
            pages = max(math.ceil(total / per_page), 1)
            window = entries[(page - 1) * per_page : page * per_page]
            files = [stored for _, name in window if (stored := self._read_metadata(name))]
        return StoredPage(files=files, page=page, pages=pages, total=total)


def _incoming(uploads: Sequence[TempUpload]) -> int:
    # Bytes reserved beforehand are in the ledger already.
    return sum(upload.size - upload.reserved for upload in uploads)


def _journal_names(journal: Path) -> list[str]:
    try:
        names = json.loads(journal.read_bytes())
    except ValueError:
        return []
    return [name for name in names if isinstance(name, str) and is_stored_name(name)]


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.exception("Deleting the temp file %s failed; it goes when its owner stops", path)
