"""Durable storage for uploaded files: temp files, atomic publication, metadata, quota."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import json
import math
import os
import re
import secrets
import stat
import time
import warnings
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

import aiofiles
import aiofiles.os
from werkzeug.utils import secure_filename

from .errors import DigestMismatchError, InsufficientStorageError

_TEMP_DIR: Final = ".tmp"
_META_DIR: Final = ".meta"
_LOCK_FILE: Final = ".lock"
_TEMP_SUFFIX: Final = ".part"
_MAX_STEM_LENGTH: Final = 80
_FLUSH_THREADS: Final = 4
_FULL_DISK_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT})


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file published in the store, with the metadata kept beside it."""

    name: str
    original_name: str
    size: int
    sha256: str
    content_type: str
    created: float


@dataclass(frozen=True, slots=True)
class StoredPage:
    """One page of the store's listing, newest first."""

    files: list[StoredFile]
    page: int
    pages: int
    total: int


@contextmanager
def full_disk_as_507() -> Iterator[None]:
    """Turn ENOSPC/EDQUOT raised inside the block into ``InsufficientStorageError``."""
    try:
        yield
    except OSError as error:
        if error.errno in _FULL_DISK_ERRNOS:
            raise InsufficientStorageError("The disk is full.") from error
        raise


_MAX_EXTENSION_LENGTH: Final = 16
_NAME_TOKEN_BYTES: Final = 6
# Exactly the shapes safe_stored_name() produces, so that no other name reaches the disk.
_STORED_NAME: Final = re.compile(
    rf"[\w.-]{{1,{_MAX_STEM_LENGTH}}}-[0-9a-f]{{{2 * _NAME_TOKEN_BYTES}}}"
    rf"(?:\.[\w-]{{1,{_MAX_EXTENSION_LENGTH}}})?",
    re.ASCII,
)


def safe_stored_name(original_name: str) -> str:
    """A unique, filesystem-safe name derived from the client's file name."""
    cleaned = secure_filename(original_name)
    stem, dot, extension = cleaned.rpartition(".")
    if not stem:
        stem, extension = cleaned, ""
    stem = stem[:_MAX_STEM_LENGTH] or "upload"
    suffix = f".{extension[:_MAX_EXTENSION_LENGTH]}" if dot and extension else ""
    return f"{stem}-{secrets.token_hex(_NAME_TOKEN_BYTES)}{suffix}"


def is_stored_name(name: str) -> bool:
    """Whether ``safe_stored_name()`` could have made ``name`` (no paths, no hidden files)."""
    return (
        _STORED_NAME.fullmatch(name) is not None
        and not name.startswith(".")
        and secure_filename(name) == name
    )


class OpenedFile:
    """A stored file held open: its content outlives a delete; whoever receives it closes it."""

    def __init__(self, stored: StoredFile, descriptor: int, size: int) -> None:
        self.stored = stored
        self.descriptor = descriptor
        self.size = size
        self._finalizer = weakref.finalize(self, _close_forgotten, descriptor)

    def close(self) -> None:
        """Close the descriptor; later calls do nothing."""
        if self._finalizer.detach() is not None:
            os.close(self.descriptor)


def _close_forgotten(descriptor: int) -> None:
    os.close(descriptor)
    warnings.warn("a stored file was opened and never closed", ResourceWarning, stacklevel=1)


def _close_unclaimed(opening: asyncio.Future[OpenedFile | None]) -> None:
    if not opening.cancelled() and opening.exception() is None and (opened := opening.result()):
        opened.close()


class TempUpload:
    """A file being received: written once to a temp file while its SHA-256 is computed."""

    def __init__(
        self,
        store: UploadStore,
        path: Path,
        file: BinaryIO,
        *,
        original_name: str,
        content_type: str,
        expected_sha256: str | None,
    ) -> None:
        self.path = path
        self.original_name = original_name
        self.content_type = content_type
        self.expected_sha256 = expected_sha256
        self.size = 0
        self.sha256 = ""
        self._store = store
        self._file: BinaryIO | None = file
        self._hash = hashlib.sha256()
        self._loop = asyncio.get_running_loop()

    async def write(self, data: memoryview | bytes) -> None:
        """Append ``data`` to the temp file."""
        assert self._file is not None, "write after finish"
        with full_disk_as_507():
            # One worker-thread hop both hashes and writes: hashing on the event loop
            # took a third of its time (see docs/performance.md).
            await self._loop.run_in_executor(None, _hash_and_write, self._hash, self._file, data)
        self.size += len(data)
        self._store.in_flight_bytes += len(data)

    async def finish(self) -> None:
        """Flush (and fsync if configured) and close; raise 422 if the digest differs."""
        assert self._file is not None, "finish twice"
        file, self._file = self._file, None
        fsync = self._store.fsync
        try:
            with full_disk_as_507():
                await self._loop.run_in_executor(self._store.flush_executor, _flush, file, fsync)
        finally:
            await asyncio.to_thread(file.close)
        self.sha256 = self._hash.hexdigest()
        if self.expected_sha256 is not None and self.expected_sha256 != self.sha256:
            raise DigestMismatchError(f"{self.original_name!r} has SHA-256 {self.sha256}.")

    async def discard(self) -> None:
        """Close and delete the temp file; safe to call at any point, more than once."""
        file, self._file = self._file, None
        if file is not None:
            await asyncio.to_thread(file.close)
        self._store.in_flight_bytes -= self.size
        self.size = 0
        with suppress(FileNotFoundError):
            await aiofiles.os.unlink(self.path)


class UploadStore:
    """Files in one folder, with hidden temp and metadata folders and a shared usage ledger.

    Several processes may share the folder: publication, deletion and the quota
    ledger are serialised by an ``flock`` on a lock file.
    """

    def __init__(self, root: Path, *, quota: int | None = None, fsync: bool = True) -> None:
        self.root = root
        self.quota = quota
        self.fsync = fsync
        self.in_flight_bytes = 0
        self._temp_dir = root / _TEMP_DIR
        self._meta_dir = root / _META_DIR
        self._instance = secrets.token_hex(4)
        self._used_bytes = 0
        self._lock = asyncio.Lock()
        # fsync waits for the disk; in the default pool it would hold up other uploads' writes.
        self.flush_executor = ThreadPoolExecutor(_FLUSH_THREADS, thread_name_prefix="upload-flush")

    def close(self) -> None:
        """Let the flush threads end once their work is done."""
        self.flush_executor.shutdown(wait=False)

    async def prepare(self) -> None:
        """Create the folders, delete temp files left by dead processes, recount usage."""
        await asyncio.to_thread(self._prepare_blocking)

    async def begin(
        self, original_name: str, content_type: str, *, expected_sha256: str | None = None
    ) -> TempUpload:
        """Open a new temp file for one incoming file."""
        name = f"{os.getpid()}.{self._instance}.{secrets.token_hex(8)}{_TEMP_SUFFIX}"
        path = self._temp_dir / name
        with full_disk_as_507():
            file = await asyncio.to_thread(open, path, "xb")
        return TempUpload(
            self,
            path,
            file,
            original_name=original_name,
            content_type=content_type,
            expected_sha256=expected_sha256,
        )

    def check_room(self, extra_bytes: int) -> None:
        """Raise 507 early if ``extra_bytes`` more would clearly overrun the quota."""
        if self.quota is not None and (
            self._used_bytes + self.in_flight_bytes + extra_bytes > self.quota
        ):
            raise InsufficientStorageError("The upload would exceed the storage quota.")

    async def commit(self, uploads: Sequence[TempUpload]) -> list[StoredFile]:
        """Publish finished temp files under new unique names, all or none.

        The temp files are gone afterwards whatever the outcome. Cancelling the caller
        (a client gone at the last moment) does not stop a commit once it has begun.
        """
        return await asyncio.shield(self._commit(uploads))

    async def _commit(self, uploads: Sequence[TempUpload]) -> list[StoredFile]:
        try:
            async with self._lock:
                return await asyncio.to_thread(self._commit_blocking, uploads)
        finally:
            for upload in uploads:
                self.in_flight_bytes -= upload.size

    async def get(self, name: str) -> StoredFile | None:
        """The stored file called ``name``, or ``None``."""
        if not is_stored_name(name):
            return None
        return await asyncio.to_thread(self._read_metadata, name)

    async def open(self, name: str) -> OpenedFile | None:
        """The stored file ``name`` opened for reading, or ``None``; the caller closes it."""
        if not is_stored_name(name):
            return None
        opening = asyncio.get_running_loop().run_in_executor(None, self._open_blocking, name)
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            # The worker thread may still open the file; nobody else would close it.
            opening.add_done_callback(_close_unclaimed)
            raise

    def _open_blocking(self, name: str) -> OpenedFile | None:
        # The file before its metadata: once open, a delete can no longer take the content away.
        try:
            descriptor = os.open(self.root / name, os.O_RDONLY)
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
        return OpenedFile(stored, descriptor, status.st_size)

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
        async with self._lock:
            return await asyncio.to_thread(self._read_usage_locked)

    def _prepare_blocking(self) -> None:
        for folder in (self.root, self._temp_dir, self._meta_dir):
            folder.mkdir(parents=True, exist_ok=True)
        for entry in os.scandir(self._temp_dir):
            if entry.name.endswith(_TEMP_SUFFIX) and self._is_orphan(entry.name):
                Path(entry.path).unlink(missing_ok=True)
        with self._locked():
            total = 0
            for entry in os.scandir(self._meta_dir):
                name = entry.name.removesuffix(".json")
                if entry.name.endswith(".json") and (self.root / name).is_file():
                    total += (self.root / name).stat().st_size
            self._write_usage(total)

    def _is_orphan(self, temp_name: str) -> bool:
        pid_text, _, rest = temp_name.partition(".")
        instance = rest.partition(".")[0]
        if not pid_text.isdigit():
            return True
        pid = int(pid_text)
        if pid == os.getpid():
            return instance != self._instance
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self._meta_dir / _LOCK_FILE, "a+b") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _usage_path(self) -> Path:
        return self._meta_dir / ".usage"

    def _read_usage_locked(self) -> int:
        with self._locked():
            return self._read_usage()

    def _read_usage(self) -> int:
        try:
            self._used_bytes = int(self._usage_path().read_text() or 0)
        except FileNotFoundError:
            self._used_bytes = 0
        return self._used_bytes

    def _write_usage(self, total: int) -> None:
        temp = self._usage_path().with_suffix(f".{os.getpid()}")
        temp.write_text(str(total))
        os.replace(temp, self._usage_path())
        self._used_bytes = total

    def _commit_blocking(self, uploads: Sequence[TempUpload]) -> list[StoredFile]:
        published: list[StoredFile] = []
        try:
            with self._locked(), full_disk_as_507():
                used = self._read_usage()
                incoming = sum(upload.size for upload in uploads)
                if self.quota is not None and used + incoming > self.quota:
                    raise InsufficientStorageError("The upload would exceed the storage quota.")
                try:
                    for upload in uploads:
                        published.append(self._publish(upload))
                    if self.fsync:
                        _fsync_directory(self.root)
                    self._write_usage(used + incoming)
                except BaseException:
                    for stored in published:
                        self._remove(stored.name)
                    raise
        finally:
            for upload in uploads:
                upload.path.unlink(missing_ok=True)
        return published

    def _publish(self, upload: TempUpload) -> StoredFile:
        while True:
            name = safe_stored_name(upload.original_name)
            meta_path = self._meta_dir / f"{name}.json"
            try:
                # os.link refuses to replace an existing file, so names never collide.
                os.link(upload.path, self.root / name)
            except FileExistsError:
                continue
            break
        stored = StoredFile(
            name=name,
            original_name=upload.original_name,
            size=upload.size,
            sha256=upload.sha256,
            content_type=upload.content_type,
            created=time.time(),
        )
        try:
            _write_json_atomically(meta_path, asdict(stored), fsync=self.fsync)
        except BaseException:
            (self.root / name).unlink(missing_ok=True)
            raise
        return stored

    def _remove(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)
        (self._meta_dir / f"{name}.json").unlink(missing_ok=True)

    def _delete_blocking(self, name: str) -> bool:
        with self._locked():
            stored = self._read_metadata(name)
            if stored is None:
                return False
            self._remove(name)
            self._write_usage(max(self._read_usage() - stored.size, 0))
            return True

    def _read_metadata(self, name: str) -> StoredFile | None:
        try:
            raw: dict[str, Any] = json.loads((self._meta_dir / f"{name}.json").read_bytes())
        except (FileNotFoundError, ValueError):
            return None
        if not (self.root / name).is_file():
            return None
        return StoredFile(
            name=name,
            original_name=str(raw.get("original_name", name)),
            size=int(raw.get("size", 0)),
            sha256=str(raw.get("sha256", "")),
            content_type=str(raw.get("content_type", "application/octet-stream")),
            created=float(raw.get("created", 0.0)),
        )

    def _list_blocking(self, page: int, per_page: int) -> StoredPage:
        entries: list[tuple[int, str]] = []
        for entry in os.scandir(self._meta_dir):
            if entry.name.endswith(".json") and not entry.name.startswith("."):
                try:
                    entries.append((entry.stat().st_mtime_ns, entry.name.removesuffix(".json")))
                except FileNotFoundError:
                    continue
        entries.sort(key=lambda item: (-item[0], item[1]))
        total = len(entries)
        pages = max(math.ceil(total / per_page), 1)
        window = entries[(page - 1) * per_page : page * per_page]
        files = [stored for _, name in window if (stored := self._read_metadata(name))]
        return StoredPage(files=files, page=page, pages=pages, total=total)


def _write_json_atomically(path: Path, document: dict[str, Any], *, fsync: bool) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        with open(temp, "xb") as file:
            file.write(json.dumps(document).encode())
            if fsync:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _hash_and_write(digest: hashlib._Hash, file: BinaryIO, data: memoryview | bytes) -> None:
    digest.update(data)
    file.write(data)


def _flush(file: BinaryIO, fsync: bool) -> None:
    file.flush()
    if fsync:
        os.fsync(file.fileno())


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
