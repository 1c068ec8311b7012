"""Resumable uploads (the state behind tus): kept on disk across requests, workers and restarts.

Each upload has four files in the store's ``.tus/`` folder, which the store never lists:
``<id>.json`` (its state, replaced whole when anything but the offset changes),
``<id>.offset`` (the offset each request recorded, rewritten in place in one of two
checksummed slots), ``<id>.data`` (the bytes received; any past the recorded offset were
never acknowledged and are cut off before the next write) and ``<id>.lock`` (``flock``-ed
by the one request writing to it, in whichever worker). Its length is reserved in the
store's usage ledger from creation until it is published, terminated or expired; recovery
recounts the reservations from the state files.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import struct
import time
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Final

from .cancel_safe import acquire_in_thread
from .durable_files import (
    create_exclusive,
    fsync_directory,
    fsync_file,
    full_disk_as_507,
    log,
    sync_and_close,
    write_new,
)
from .errors import (
    ChecksumMismatchError,
    DigestMismatchError,
    MalformedUploadError,
    ServerStoppingError,
    UnsupportedUploadTypeError,
    UploadGoneError,
    UploadLockedError,
    UploadNotFoundError,
    UploadOffsetMismatchError,
    UploadTimeoutError,
    UploadTooLargeError,
)
from .file_store import FileStore
from .limits import MIB, UploadLimits
from .shutdown import Shutdown
from .stored_files import StoredFile
from .temp_files import TempUpload, hash_and_write

_FOLDER: Final = ".tus"
_ID: Final = re.compile(r"[0-9a-f]{32}")
_HASH_BLOCK: Final = MIB
# How long a status waits for a request still writing to the upload (one whose client has
# gone, say, and that has yet to record what it kept) before it answers with the offset as is.
_SETTLE_SECONDS: Final = 2.0
_SETTLE_POLL: Final = 0.02
# A deferred-length upload reserves quota this far ahead of its bytes, a step at a time.
_RESERVATION_STEP: Final = 8 * MIB
# The files beside each upload's state, created with it and removed with it.
_COMPANIONS: Final = (".data", ".offset")
# The offset record is also the upload's lock (flock on it, by all workers): one file fewer to
# create, open and remove per upload, and a PATCH records its offset through the lock it holds.
_LOCK: Final = ".offset"
# An offset record: a tag, the offset and the CRC-32 of both. Two slots, each in its own
# block, written alternately: a write torn by a crash spoils only the slot it was writing,
# and the other still holds the offset recorded before it.
_OFFSET_RECORD: Final = struct.Struct("<4sQ")
_OFFSET_CHECK: Final = struct.Struct("<I")
_OFFSET_TAG: Final = b"tus1"
_OFFSET_SLOTS: Final = (0, 4096)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumableUpload:
    """One resumable upload's state, as recorded on disk."""

    id: str
    length: int | None
    offset: int
    reserved: int
    created: float
    expires: float | None
    original_name: str
    content_type: str
    metadata: str
    expected_sha256: str | None
    partial: bool
    stored_name: str | None = None

    @property
    def finished(self) -> bool:
        """Whether every byte has arrived."""
        return self.length is not None and self.offset == self.length


@dataclass(frozen=True, slots=True)
class ChunkChecksum:
    """The digest a client announced for the bytes of one request."""

    algorithm: str
    digest: bytes


CHECKSUM_ALGORITHMS: Final = ("sha1", "sha256")


class ResumableStore:
    """Resumable uploads beside a store, received on its local disk, published into it once
    complete."""

    def __init__(
        self,
        store: FileStore[Any],
        *,
        limits: UploadLimits,
        max_size: int | None,
        expiry: float | None,
    ) -> None:
        self.store = store
        self.folder = store.root / _FOLDER
        self.limits = limits
        self.max_size = min(
            (size for size in (max_size, limits.max_file_size, limits.max_request_size) if size),
            default=None,
        )
        self.expiry = expiry
        # This process's running SHA-256 per upload, valid at the offset it is keyed with;
        # otherwise the kept bytes are hashed again (after a restart, or from another worker).
        self._hashes: dict[str, tuple[int, Any]] = {}
        store.count_reservations_with(self._recover_blocking)

    async def create(
        self,
        *,
        length: int | None,
        original_name: str,
        content_type: str,
        metadata: str,
        expected_sha256: str | None = None,
        partial: bool = False,
    ) -> ResumableUpload:
        """Start an upload of ``length`` bytes (``None``: declared later); 413, 415 or 507."""
        self._check_length(length)
        if not self.limits.extension_allowed(original_name):
            raise UnsupportedUploadTypeError(f"Files like {original_name!r} are not accepted.")
        if not self.limits.content_type_allowed(content_type):
            raise UnsupportedUploadTypeError(f"Type {content_type} is not accepted.")
        now = time.time()
        upload = ResumableUpload(
            id=secrets.token_hex(16),
            length=length,
            offset=0,
            reserved=length or 0,
            created=now,
            expires=None if self.expiry is None else now + self.expiry,
            original_name=original_name,
            content_type=content_type,
            metadata=metadata,
            expected_sha256=expected_sha256,
            partial=partial,
        )
        await asyncio.to_thread(self._create_blocking, upload)
        self._hashes[upload.id] = (0, hashlib.sha256())
        return upload

    async def get(self, upload_id: str) -> ResumableUpload:
        """The upload's state; 404 if there is none, 410 if it expired."""
        return _current(await asyncio.to_thread(self._read_state, upload_id))

    async def settled(self, upload_id: str) -> ResumableUpload:
        """The upload's state once no request is writing to it (or after a short wait)."""
        if _ID.fullmatch(upload_id):
            lock = self._path(upload_id, _LOCK)
            deadline = asyncio.get_running_loop().time() + _SETTLE_SECONDS
            while not await asyncio.to_thread(_lock_is_free, lock):
                if asyncio.get_running_loop().time() >= deadline:
                    break
                await asyncio.sleep(_SETTLE_POLL)
        return await self.get(upload_id)

    async def append(
        self,
        upload_id: str,
        batches: AsyncIterable[Sequence[bytes]],
        *,
        offset: int,
        length: int | None = None,
        content_length: int | None = None,
        checksum: ChunkChecksum | None = None,
        shutdown: Shutdown | None = None,
    ) -> tuple[ResumableUpload, StoredFile | None]:
        """Write the body at ``offset``; publish the upload if that finishes it.

        Bytes that arrive whole are kept however the request ends (a checksummed chunk is
        kept whole or not at all). ``length`` declares a deferred length. Returns the new
        state and, when this request finished it, the stored file.
        """
        shutdown = shutdown or Shutdown()
        async with self._writing(upload_id, data_at=offset) as held:
            upload = _current(held.upload)
            if upload.offset != offset:
                raise UploadOffsetMismatchError(
                    f"The upload is at offset {upload.offset}, not {offset}."
                )
            if length is not None:
                upload = await self._declare_length(upload, length)
            end = offset + (content_length or 0)
            if upload.length is not None and end > upload.length:
                raise UploadTooLargeError("The chunk goes past the upload's length.")
            if content_length and not upload.finished:
                shutdown.refuse_new_uploads()
                self._check_length(end)
            if not upload.finished and (content_length is None or content_length > 0):
                upload = await self._receive(upload, held, batches, checksum, shutdown)
            if upload.finished and not upload.partial and upload.stored_name is None:
                return await self._publish(upload)
            return upload, None

    async def concatenate(
        self,
        part_ids: Sequence[str],
        *,
        original_name: str,
        content_type: str,
        metadata: str,
        expected_sha256: str | None = None,
    ) -> tuple[ResumableUpload, StoredFile]:
        """Join finished partial uploads, in order, into one upload and publish it."""
        if not part_ids:
            raise MalformedUploadError("A final upload names at least one partial upload.")
        if len(set(part_ids)) != len(part_ids):
            raise MalformedUploadError("A partial upload is named twice.")
        async with self._all_writing(sorted(part_ids)):
            parts = [await self.get(part_id) for part_id in part_ids]
            for part in parts:
                if not part.partial:
                    raise MalformedUploadError(f"Upload {part.id} is not a partial upload.")
                if not part.finished:
                    raise MalformedUploadError(f"Partial upload {part.id} is not finished.")
            length = sum(part.offset for part in parts)
            self._check_length(length)
            final = await self.create(
                length=None,
                original_name=original_name,
                content_type=content_type,
                metadata=metadata,
                expected_sha256=expected_sha256,
            )
            # Held until its state says it is published, as a PATCH that finishes one is.
            async with self._writing(final.id):
                try:
                    digest = await asyncio.to_thread(self._join_blocking, final, parts)
                except BaseException:
                    await asyncio.shield(self._remove(final))
                    raise
                # The parts' reservations pass to the whole, in one change of the ledger.
                final = replace(final, length=length, offset=length, reserved=length)
                reserved = sum(part.reserved for part in parts)
                await asyncio.to_thread(self._take_over_blocking, final, parts, length - reserved)
                self._hashes[final.id] = (length, digest)
                return await self._publish(final)

    async def terminate(self, upload_id: str) -> None:
        """Remove the upload and release its reservation; 404 if there is none."""
        async with self._writing(upload_id) as held:
            if held.upload is None:
                raise UploadNotFoundError()
            await self._remove(held.upload)

    async def sweep_expired(self) -> int:
        """Remove expired uploads no request is writing to; return how many went."""
        removed = await asyncio.to_thread(self._sweep_blocking, time.time())
        # Another worker may have finished, terminated or swept uploads this one hashed:
        # their running hashes would stay here for good. One dropped too early only costs
        # hashing the kept bytes again.
        present = await asyncio.to_thread(self._upload_ids)
        for upload_id in [known for known in self._hashes if known not in present]:
            del self._hashes[upload_id]
        return removed

    def _upload_ids(self) -> set[str]:
        return {state.name.removesuffix(".json") for state in self.folder.glob("*.json")}

    def _check_length(self, length: int | None) -> None:
        if length is not None and self.max_size is not None and length > self.max_size:
            raise UploadTooLargeError(f"An upload may hold at most {self.max_size} bytes.")

    def _path(self, upload_id: str, suffix: str) -> Path:
        return self.folder / f"{upload_id}{suffix}"

    @asynccontextmanager
    async def _writing(
        self, upload_id: str, *, data_at: int | None = None
    ) -> AsyncIterator[_Held]:
        """Hold the upload's lock, with its state as read under the lock and, if it is at
        offset ``data_at`` and unfinished, its data file open for writing there."""
        if not _ID.fullmatch(upload_id):
            raise UploadNotFoundError()
        # One hand-off to a thread for all three: each costs more CPU than the work it carries.
        held = await acquire_in_thread(
            partial(self._lock_and_read, upload_id, data_at), _Held.release
        )
        try:
            yield held
        finally:
            held.release()

    def _lock_and_read(self, upload_id: str, data_at: int | None) -> _Held:
        held = _Held(_lock_nowait(self._path(upload_id, _LOCK)))
        try:
            held.upload = upload = self._read_state(upload_id, held.lock)
            if (
                upload is not None
                and upload.offset == data_at
                and not upload.finished
                and not _has_expired(upload, time.time())
            ):
                held.data = _open_at(self._path(upload_id, ".data"), data_at)
        except BaseException:
            held.release()
            raise
        return held

    @asynccontextmanager
    async def _all_writing(self, upload_ids: Sequence[str]) -> AsyncIterator[None]:
        if not upload_ids:
            yield
            return
        async with self._writing(upload_ids[0]), self._all_writing(upload_ids[1:]):
            yield

    async def _declare_length(self, upload: ResumableUpload, length: int) -> ResumableUpload:
        if upload.length is not None:
            if upload.length != length:
                raise MalformedUploadError("Upload-Length cannot change once declared.")
            return upload
        if length < upload.offset:
            raise MalformedUploadError("Upload-Length is below the bytes already received.")
        self._check_length(length)
        declared = replace(upload, length=length, reserved=length)
        await self._reserve(upload, declared)
        return declared

    async def _reserve(self, before: ResumableUpload, after: ResumableUpload) -> None:
        await asyncio.to_thread(
            self.store.reserve_blocking,
            after.reserved - before.reserved,
            partial(self._write_state, after),
        )

    async def _receive(
        self,
        upload: ResumableUpload,
        held: _Held,
        batches: AsyncIterable[Sequence[bytes]],
        checksum: ChunkChecksum | None,
        shutdown: Shutdown,
    ) -> ResumableUpload:
        digest = await self._digest_at(upload)
        chunk = hashlib.new(checksum.algorithm) if checksum else None
        kept_digest = digest.copy() if chunk is not None else None
        descriptor = held.take_data()
        appending = _Appending(upload, descriptor, held.locked())
        failure: BaseException | None = None
        try:
            await self._write_batches(appending, batches, digest, chunk, shutdown)
        except BaseException as error:
            failure = error
        if (
            chunk is not None
            and checksum is not None
            and failure is None
            and (chunk.digest() != checksum.digest)
        ):
            failure = ChecksumMismatchError()
        if chunk is not None and failure is not None:
            appending.received = 0
            digest = kept_digest
        healthy = not appending.write_failed
        keeping = asyncio.ensure_future(self._keep(appending, digest if healthy else None))
        try:
            kept = await asyncio.shield(keeping)
        except asyncio.CancelledError:
            # The lock, through which the offset is being recorded, is held until it is.
            await asyncio.wait([keeping])
            raise
        if failure is not None:
            raise failure
        return kept

    async def _write_batches(
        self,
        appending: _Appending,
        batches: AsyncIterable[Sequence[bytes]],
        digest: Any,
        chunk: Any,
        shutdown: Shutdown,
    ) -> None:
        upload = appending.upload
        digests = (digest,) if chunk is None else (digest, chunk)
        writer = self.store.writing.writer
        idle = self.limits.idle_timeout
        loop = asyncio.get_running_loop()
        iterator = aiter(batches)
        try:
            async with asyncio.timeout(None) as timer:
                with shutdown.watching(timer):
                    while True:
                        timer.reschedule(shutdown.wait_deadline(loop.time(), idle))
                        try:
                            batch = await anext(iterator)
                        except StopAsyncIteration:
                            break
                        timer.reschedule(shutdown.deadline)
                        size = sum(len(piece) for piece in batch)
                        end = upload.offset + appending.received + size
                        if upload.length is not None and end > upload.length:
                            raise UploadTooLargeError("The chunk goes past the upload's length.")
                        self._check_length(end)
                        if end > appending.upload.reserved:
                            await self._reserve_ahead(appending, end)
                        busy = writer.submit(hash_and_write, digests, appending.descriptor, batch)
                        try:
                            with full_disk_as_507():
                                await asyncio.shield(busy)
                        except asyncio.CancelledError:
                            # The thread goes on: count the batch only if it was all written.
                            await asyncio.wait([busy])
                            if busy.exception() is None:
                                appending.received += size
                            else:
                                appending.write_failed = True
                            raise
                        except BaseException:
                            appending.write_failed = True
                            raise
                        appending.received += size
                        del batch
        except TimeoutError:
            if shutdown.has_passed(loop.time()):
                raise ServerStoppingError() from None
            raise UploadTimeoutError() from None

    async def _reserve_ahead(self, appending: _Appending, end: int) -> None:
        # Only a deferred length gets here: a known one was reserved whole at creation.
        target = end + _RESERVATION_STEP
        if self.max_size is not None:
            target = min(target, self.max_size)
        grown = replace(appending.upload, reserved=target)
        await self._reserve(appending.upload, grown)
        appending.upload = grown

    async def _keep(self, appending: _Appending, digest: Any) -> ResumableUpload:
        """Make the bytes received durable, then record the offset that covers them."""
        fsync = self.store.writing.fsync
        upload = appending.upload
        kept = replace(upload, offset=upload.offset + appending.received)
        # One thread call: the offset is written only once the data's fsync has returned.
        keeping = partial(
            self._sync_then_record,
            appending.descriptor,
            kept if kept.offset != upload.offset else None,
            appending.lock,
        )
        closing = (
            asyncio.get_running_loop().run_in_executor(
                self.store.writing.flush_executor, partial(keeping, fsync=True)
            )
            if fsync
            else self.store.writing.writer.submit(partial(keeping, fsync=False))
        )
        self._hashes.pop(upload.id, None)
        # On failure the offset on disk is still the one before this request: it stays true.
        with full_disk_as_507():
            await closing
        if digest is not None:
            self._hashes[upload.id] = (kept.offset, digest)
        return kept

    async def _digest_at(self, upload: ResumableUpload) -> Any:
        cached = self._hashes.pop(upload.id, None)
        if cached is not None and cached[0] == upload.offset:
            return cached[1]
        return await asyncio.to_thread(_hash_file, self._path(upload.id, ".data"), upload.offset)

    async def _publish(self, upload: ResumableUpload) -> tuple[ResumableUpload, StoredFile]:
        digest = (await self._digest_at(upload)).hexdigest()
        if upload.expected_sha256 is not None and upload.expected_sha256 != digest:
            await self._remove(upload)
            raise DigestMismatchError(f"{upload.original_name!r} has SHA-256 {digest}.")
        received = TempUpload.received(
            self._path(upload.id, ".data"),
            size=upload.offset,
            sha256=digest,
            reserved=upload.reserved,
            original_name=upload.original_name,
            content_type=upload.content_type,
            writing=self.store.writing,
        )
        try:
            [stored] = await self.store.commit([received])
        except BaseException:
            # The commit took the received file with it: nothing of the upload is kept.
            await asyncio.shield(self._remove(upload))
            raise
        published = replace(upload, reserved=0, stored_name=stored.name)
        # After the store's lock, not under it: the commit's journal already decided the
        # publication, and recovery recognises it by the data file's links (_recover_one).
        await asyncio.shield(asyncio.to_thread(self._record_published, published))
        return published, stored

    def _record_published(self, upload: ResumableUpload) -> None:
        try:
            self._write_state(upload)
        except OSError:
            # Its state would still say unpublished and reserved, which is wrong now:
            # rather no record (404) than one that publishes the file a second time.
            log.exception("Recording that upload %s was published failed", upload.id)
            for suffix in (".json", *_COMPANIONS):
                self._path(upload.id, suffix).unlink(missing_ok=True)

    async def _remove(self, upload: ResumableUpload) -> None:
        self._hashes.pop(upload.id, None)
        await asyncio.to_thread(self._remove_blocking, upload)

    def _remove_blocking(self, upload: ResumableUpload) -> None:
        state = self._path(upload.id, ".json")
        self.store.reserve_blocking(-upload.reserved, partial(state.unlink, missing_ok=True))
        for suffix in _COMPANIONS:
            self._path(upload.id, suffix).unlink(missing_ok=True)

    def _create_blocking(self, upload: ResumableUpload) -> None:
        state = self._path(upload.id, ".json")

        def record() -> None:
            # All four files appear under the store's lock, so that a worker starting
            # meanwhile never takes them for the leftovers of a crash. The state is a new
            # file: no temp file and rename, and no fsync while the lock is held.
            try:
                for suffix in _COMPANIONS:
                    os.close(create_exclusive(self._path(upload.id, suffix)))
                write_new(state, _encode(upload), fsync=False)
            except BaseException:
                for suffix in _COMPANIONS:
                    self._path(upload.id, suffix).unlink(missing_ok=True)
                raise

        self.store.reserve_blocking(upload.reserved, record)
        if not self.store.fsync:
            return
        try:
            # Concurrent creations flush together here instead of one by one under the lock;
            # a crash before this leaves a state that is missing or unreadable, and recovery
            # removes the rest as leftovers.
            with full_disk_as_507():
                fsync_file(state)
                fsync_directory(self.folder)
        except BaseException:
            self._remove_blocking(upload)
            raise

    def _write_state(self, upload: ResumableUpload) -> None:
        """Replace the upload's state file whole (durably, with the store's fsync)."""
        state = self._path(upload.id, ".json")
        fresh = self._path(upload.id, ".json.new")
        fresh.unlink(missing_ok=True)
        write_new(fresh, _encode(upload), fsync=self.store.fsync)
        os.replace(fresh, state)
        if self.store.fsync:
            fsync_directory(self.folder)

    def _sync_then_record(
        self, descriptor: int, kept: ResumableUpload | None, lock: int, *, fsync: bool
    ) -> None:
        sync_and_close(descriptor, fsync=fsync)
        if kept is not None:
            self._write_offset(kept, lock)

    def _write_offset(self, upload: ResumableUpload, lock: int) -> None:
        """Record the upload's new offset in place, through ``lock`` (its offset record,
        open under its lock): one write and one fdatasync, no rename.

        It goes in the slot that does not hold the newest offset, so that a torn write
        leaves that one readable.
        """
        slots = [_read_offset_slot(lock, position) for position in _OFFSET_SLOTS]
        newest = max(range(len(slots)), key=lambda index: _or_none_first(slots[index]))
        record = _OFFSET_RECORD.pack(_OFFSET_TAG, upload.offset)
        record += _OFFSET_CHECK.pack(zlib.crc32(record))
        position = _OFFSET_SLOTS[1 - newest]
        if os.pwrite(lock, record, position) != len(record):
            raise OSError(errno.EIO, f"short write to the offset of {upload.id}")
        if self.store.fsync:
            os.fdatasync(lock)

    def _read_state(self, upload_id: str, lock: int | None = None) -> ResumableUpload | None:
        """The upload's state with its newest offset (read through ``lock``, the offset
        record open under its lock, if given)."""
        if not _ID.fullmatch(upload_id):
            return None
        try:
            raw: dict[str, Any] = json.loads(self._path(upload_id, ".json").read_bytes())
            upload = ResumableUpload(**raw)
        except (FileNotFoundError, TypeError, ValueError):
            return None
        recorded = (
            _read_offset(self._path(upload_id, ".offset"))
            if lock is None
            else _newest_offset(lock)
        )
        # Offsets only grow; the state file holds the one at its last rewrite.
        if recorded is not None and recorded > upload.offset:
            upload = replace(upload, offset=recorded)
        return upload

    def _join_blocking(self, final: ResumableUpload, parts: Sequence[ResumableUpload]) -> Any:
        digest = hashlib.sha256()
        target = os.open(self._path(final.id, ".data"), os.O_WRONLY | os.O_CLOEXEC)
        try:
            with full_disk_as_507():
                for part in parts:
                    with self._path(part.id, ".data").open("rb") as source:
                        left = part.offset
                        while left:
                            block = source.read(min(_HASH_BLOCK, left))
                            if not block:
                                raise MalformedUploadError(f"Partial upload {part.id} is short.")
                            hash_and_write((digest,), target, (block,))
                            left -= len(block)
        finally:
            sync_and_close(target, fsync=self.store.fsync)
        return digest

    def _take_over_blocking(
        self, final: ResumableUpload, parts: Sequence[ResumableUpload], extra: int
    ) -> None:
        def record() -> None:
            self._write_state(final)
            for part in parts:
                self._path(part.id, ".json").unlink(missing_ok=True)

        self.store.reserve_blocking(extra, record)
        for part in parts:
            self._hashes.pop(part.id, None)
            for suffix in _COMPANIONS:
                self._path(part.id, suffix).unlink(missing_ok=True)

    def _sweep_blocking(self, now: float) -> int:
        removed = 0
        for state in self.folder.glob("*.json"):
            upload = self._read_state(state.name.removesuffix(".json"))
            if upload is None or not _has_expired(upload, now):
                continue
            try:
                lock = _lock_nowait(self._path(upload.id, _LOCK))
            except (UploadLockedError, UploadNotFoundError):
                continue
            try:
                # Read again under the lock: a request may have finished it meanwhile.
                current = self._read_state(upload.id)
                if current is not None and _has_expired(current, now):
                    self._hashes.pop(upload.id, None)
                    self._remove_blocking(current)
                    removed += 1
            finally:
                os.close(lock)
        return removed

    def _recover_blocking(self) -> int:
        """Settle what a crash interrupted; return the bytes still reserved. Runs under the
        store's exclusive lock at start, after its interrupted commits are settled."""
        self.folder.mkdir(exist_ok=True)
        reserved = 0
        known: set[str] = set()
        for state in self.folder.glob("*.json"):
            upload = self._read_state(state.name.removesuffix(".json"))
            if upload is None:
                continue
            known.add(upload.id)
            # One that a live worker is writing to is as that worker leaves it; if its
            # commit is done, that worker is about to record it, and its reservation is gone.
            if _lock_is_free(self._path(upload.id, _LOCK)):
                reserved += self._recover_one(upload)
            elif not _published_before_its_state(upload, _links(self._path(upload.id, ".data"))):
                reserved += upload.reserved
        for entry in os.scandir(self.folder):
            upload_id = entry.name.partition(".")[0]
            leftover = upload_id not in known or entry.name.endswith(".json.new")
            if leftover and _lock_is_free(self._path(upload_id, _LOCK)):
                log.warning("Removing %s, left by an interrupted resumable upload", entry.name)
                Path(entry.path).unlink(missing_ok=True)
        return reserved

    def _recover_one(self, upload: ResumableUpload) -> int:
        data = self._path(upload.id, ".data")
        links = _links(data)
        if upload.stored_name is not None:
            data.unlink(missing_ok=True)
            return 0
        if _published_before_its_state(upload, links):
            # The crash came between the commit and the state saying so.
            data.unlink(missing_ok=True)
            self._write_state(replace(upload, reserved=0, stored_name=""))
            return 0
        if links == 0:
            log.warning("Resumable upload %s lost its data; removing it", upload.id)
            self._path(upload.id, ".json").unlink(missing_ok=True)
            return 0
        return upload.reserved


@dataclass(slots=True)
class _Held:
    """An upload's lock held by one request, what it read under it, and the data file
    opened for it (until the request takes it over)."""

    lock: int | None
    upload: ResumableUpload | None = None
    data: int | None = None

    def locked(self) -> int:
        """The lock's descriptor (the offset record, open for reading and writing)."""
        if self.lock is None:
            raise UploadNotFoundError()
        return self.lock

    def take_data(self) -> int:
        """The open data file, which the caller now closes."""
        if self.data is None:
            raise UploadNotFoundError()
        descriptor, self.data = self.data, None
        return descriptor

    def release(self) -> None:
        """Close what is still held: the data file unless taken, then the lock."""
        for name in ("data", "lock"):
            descriptor = getattr(self, name)
            setattr(self, name, None)
            if descriptor is not None:
                os.close(descriptor)


@dataclass(slots=True)
class _Appending:
    """One request's writing to an upload: how much of it is on disk so far."""

    upload: ResumableUpload
    descriptor: int
    lock: int
    received: int = 0
    write_failed: bool = False


def _encode(upload: ResumableUpload) -> bytes:
    return json.dumps(asdict(upload)).encode()


def _read_offset_slot(descriptor: int, position: int) -> int | None:
    raw = os.pread(descriptor, _OFFSET_RECORD.size + _OFFSET_CHECK.size, position)
    if len(raw) != _OFFSET_RECORD.size + _OFFSET_CHECK.size:
        return None
    record, check = raw[: _OFFSET_RECORD.size], raw[_OFFSET_RECORD.size :]
    tag, offset = _OFFSET_RECORD.unpack(record)
    if tag != _OFFSET_TAG or _OFFSET_CHECK.unpack(check)[0] != zlib.crc32(record):
        return None  # never written, or torn by a crash
    return int(offset)


def _or_none_first(offset: int | None) -> int:
    return -1 if offset is None else offset


def _read_offset(path: Path) -> int | None:
    """The newest offset recorded whole in ``path``, or ``None``."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        return _newest_offset(descriptor)
    finally:
        os.close(descriptor)


def _newest_offset(descriptor: int) -> int | None:
    recorded = [_read_offset_slot(descriptor, position) for position in _OFFSET_SLOTS]
    return max((offset for offset in recorded if offset is not None), default=None)


def _links(path: Path) -> int:
    try:
        return os.stat(path).st_nlink
    except FileNotFoundError:
        return 0


def _published_before_its_state(upload: ResumableUpload, links: int) -> bool:
    """Whether the store's commit published the upload and its state does not say so yet.

    Under the store's lock a commit is either undone or done: its data file is then linked
    into the store (a second link) or already unlinked from ``.tus/`` (none).
    """
    return upload.stored_name is None and upload.finished and not upload.partial and links != 1


def _current(upload: ResumableUpload | None) -> ResumableUpload:
    """``upload`` if it exists and has not expired; 404 or 410 otherwise."""
    if upload is None:
        raise UploadNotFoundError()
    if _has_expired(upload, time.time()) and upload.stored_name is None:
        raise UploadGoneError()
    return upload


def _has_expired(upload: ResumableUpload, now: float) -> bool:
    return upload.expires is not None and upload.expires <= now


def _lock_nowait(path: Path) -> int:
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UploadNotFoundError() from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise UploadLockedError() from None
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _lock_is_free(path: Path) -> bool:
    try:
        os.close(_lock_nowait(path))
    except UploadLockedError:
        return False
    except UploadNotFoundError:
        return True  # nothing to wait for: there is no such upload
    return True


def _open_at(path: Path, offset: int) -> int:
    """The data file open for writing at ``offset``, anything after it cut off."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UploadNotFoundError() from None
    try:
        with full_disk_as_507():
            os.ftruncate(descriptor, offset)
            os.lseek(descriptor, offset, os.SEEK_SET)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _hash_file(path: Path, length: int) -> Any:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        left = length
        while left:
            block = source.read(min(_HASH_BLOCK, left))
            if not block:
                break
            digest.update(block)
            left -= len(block)
    return digest
