"""The upload store on S3: files stream into multipart uploads and are published by completing
them, all or none; the quota ledger and the marks of uploads in progress stay in a local folder.

Layout in the bucket, under the prefix: published objects at the top and, for each,
``.meta/<name>.json`` (its ``StoredFile``), written before the object is completed, since the
whole file's SHA-256 is known only after its last part, too late for the object's own metadata.
A ledger that keeps a catalog (several hosts' ledger in PostgreSQL) holds those records instead,
written in the same transaction as the commit's entry, and the listing comes from it.
Layout of the state folder: ``.meta/`` holds the ledger shared with the local store's code
(``.lock``, ``.usage``) and commit journals; ``.s3-uploads/`` holds one small file per
multipart upload in progress, owned by the store instance that created it (see
``TempFolder``), so that a starting instance aborts exactly the uploads of dead ones.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import math
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from .commit_groups import publish_and_settle
from .durable_files import log, write_new
from .errors import (
    DigestMismatchError,
    InsufficientStorageError,
    StorageFailedError,
    StorageTimeoutError,
    StorageUnavailableError,
    UploadError,
)
from .ledger import META_DIR, UsageLedger
from .stored_files import (
    OpenedFile,
    StoredFile,
    StoredPage,
    is_stored_name,
    safe_stored_name,
    stored_file_from_json,
)
from .temp_files import TempFolder, TempUpload, TempWriting
from .writer_thread import WriterThread

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

T = TypeVar("T")

MIB: Final = 1024 * 1024
MIN_PART_SIZE: Final = 5 * MIB  # S3's least size of a part but the last
_UPLOADS_DIR: Final = ".s3-uploads"
_OBJECT_META: Final = ".meta/"
_JOURNAL_PREFIX: Final = ".commit-"
_READ_CHUNK: Final = 256 * 1024
_FLUSH_THREADS: Final = 2
# Short enough that a dead endpoint gives a prompt 503/504, long enough for an 8 MiB part.
_CONNECT_TIMEOUT: Final = 5.0
_READ_TIMEOUT: Final = 30.0
_ATTEMPTS: Final = 2


@dataclass(frozen=True, slots=True)
class S3Settings:
    """Where the files go and how much memory their parts may take."""

    bucket: str
    endpoint_url: str | None = None
    prefix: str = ""
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    part_size: int = 8 * MIB
    # Per worker process: every upload's part buffers together.
    buffer_total: int = 24 * MIB
    parts_in_flight_per_file: int = 2
    presigned_downloads: bool = False
    presigned_expiry: int = 300

    def __post_init__(self) -> None:
        if self.part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        if self.buffer_total < self.part_size:
            raise ValueError("buffer_total must hold at least one part")
        if self.parts_in_flight_per_file < 1:
            raise ValueError("parts_in_flight_per_file must be at least 1")


class PartBudget:
    """Part buffers handed out whole, at most ``total // part_size`` at a time.

    A file takes a buffer before it fills it and gives it back once the part is sent, so a
    holder is always either filling from its own client or sending: waiting here never waits
    for another waiter, and the wait is the backpressure that reaches the client.
    """

    def __init__(self, part_size: int, total: int) -> None:
        self.part_size = part_size
        self.slots = max(total // part_size, 1)
        self._free = asyncio.Semaphore(self.slots)
        self.held_bytes = 0
        self.peak_bytes = 0

    async def take(self) -> io.BytesIO:
        """A fresh part buffer, once one is free.

        A BytesIO, because aiohttp sends one in pieces as it is; a large bytes body goes in
        one write, which it warns may hold up the event loop."""
        await self._free.acquire()
        self.held_bytes += self.part_size
        self.peak_bytes = max(self.peak_bytes, self.held_bytes)
        return io.BytesIO()

    def give_back(self) -> None:
        """Return a buffer's slot (its part was sent or dropped)."""
        self.held_bytes -= self.part_size
        self._free.release()


def storage_error(error: BaseException) -> UploadError:
    """The engine error that stands for an S3 client failure."""
    if isinstance(error, UploadError):
        return error
    if isinstance(error, ReadTimeoutError | asyncio.TimeoutError):
        return StorageTimeoutError()
    if isinstance(
        error,
        ConnectTimeoutError
        | EndpointConnectionError
        | ConnectionClosedError
        | aiohttp.ClientError
        | ConnectionError,
    ):
        return StorageUnavailableError()
    if isinstance(error, ClientError) and _status(error) >= 500:
        return StorageUnavailableError()
    return StorageFailedError()


@contextmanager
def _as_storage_errors(doing: str) -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError, aiohttp.ClientError, OSError, TimeoutError) as error:
        mapped = storage_error(error)
        log.warning("S3 %s failed: %r", doing, error)
        raise mapped from error


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _is_missing(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return _status(error) == 404 or code in {"404", "NoSuchKey", "NoSuchUpload"}


def _sha256_b64(digest: Any) -> str:
    return base64.b64encode(digest.digest()).decode()


class S3IncomingFile:
    """A file being received into a multipart upload: parts sent while the next one fills.

    It has ``TempUpload``'s shape, so that the receiver and the commit treat both alike;
    ``path`` only names it in log messages.
    """

    def __init__(
        self,
        store: S3UploadStore,
        *,
        name: str,
        upload_id: str,
        marker: Path,
        original_name: str,
        content_type: str,
        expected_sha256: str | None,
    ) -> None:
        self.name = name
        self.key = store.key(name)
        self.upload_id = upload_id
        self.marker = marker
        self.path = PurePosixPath(f"s3://{store.settings.bucket}/{self.key}")
        self.original_name = original_name
        self.content_type = content_type
        self.expected_sha256 = expected_sha256
        self.size = 0
        self.sha256 = ""
        self.reserved = 0
        self._store = store
        self._hash = hashlib.sha256()
        self._part_hash = hashlib.sha256()
        self._buffer: io.BytesIO | None = None
        self._filled = 0
        self._numbered = 0
        self._parts: dict[int, CompletedPartTypeDef] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._in_flight = asyncio.Semaphore(store.settings.parts_in_flight_per_file)
        self._failure: UploadError | None = None
        # The writer thread still filling the buffer, if the caller stopped waiting for it.
        self._busy: asyncio.Future[Any] | None = None
        self._settled = False

    async def write(self, buffers: Sequence[memoryview | bytes]) -> None:
        """Append ``buffers``, in order, sending each part as it fills."""
        assert not self._settled, "write after the upload was settled"
        self._raise_failure()
        views = [memoryview(buffer) for buffer in buffers]
        while views:
            if self._buffer is None:
                self._buffer = await self._store.budget.take()
            segments, views = _take(views, self._store.settings.part_size - self._filled)
            await self._fill(_copy_and_hash, segments)
            size = sum(len(segment) for segment in segments)
            self._filled += size
            self.size += size
            self._store.ledger.in_flight.count += size
            if self._filled == self._store.settings.part_size:
                await self._send_part()
        self._raise_failure()

    async def fill_from(self, descriptor: int, size: int) -> None:
        """Append ``size`` bytes read from ``descriptor`` (a file received on disk)."""
        offset = 0
        while offset < size:
            self._buffer = await self._store.budget.take()
            length = min(self._store.settings.part_size, size - offset)
            read = await self._fill(_read_and_hash, descriptor, offset, length)
            if read != length:
                raise OSError(f"{self.original_name!r} is shorter than recorded")
            offset += length
            self._filled = length
            self.size += length
            self._store.ledger.in_flight.count += length
            await self._send_part()
            self._raise_failure()

    async def finish(self) -> None:
        """Send the last part, wait for every part; raise 422 if the digest differs."""
        if self._buffer is not None or self._numbered == 0:
            if self._buffer is None:
                self._buffer = await self._store.budget.take()
            await self._send_part()
        if self._sending:
            await asyncio.wait(self._sending)
        self._raise_failure()
        self.sha256 = self._hash.hexdigest()
        if self.expected_sha256 is not None and self.expected_sha256 != self.sha256:
            raise DigestMismatchError(f"{self.original_name!r} has SHA-256 {self.sha256}.")

    def completed_parts(self) -> list[CompletedPartTypeDef]:
        """The parts sent, in order, as CompleteMultipartUpload takes them."""
        return [self._parts[number] for number in sorted(self._parts)]

    async def discard(self) -> None:
        """Abort the multipart upload; safe at any point and more than once."""
        busy, self._busy = self._busy, None
        if busy is not None:
            await asyncio.wait([busy])
        # Parts still being sent are waited for: aborting under them could leave one stored.
        if self._sending:
            await asyncio.wait(self._sending)
        if self._buffer is not None:
            self._buffer = None
            self._store.budget.give_back()
        self.forget()
        if not self._settled:
            self._settled = True
            await asyncio.shield(self._store.abort(self))

    def forget(self) -> None:
        """Stop counting this file's bytes as in flight (it was committed or discarded)."""
        self._store.ledger.in_flight.count -= self.size
        self.size = 0

    def settled(self) -> None:
        """Record that the upload was completed: nothing is left to abort."""
        self._settled = True

    async def _fill(self, function: Callable[..., T], *args: Any) -> T:
        filling = self._store.writing.writer.submit(
            function, (self._hash, self._part_hash), self._buffer, *args
        )
        self._busy = filling
        # Shielded: a cancelled caller must not drop the buffer under the thread.
        result = await asyncio.shield(filling)
        self._busy = None
        return result

    async def _send_part(self) -> None:
        buffer, self._buffer = self._buffer, None
        assert buffer is not None
        buffer.seek(0)
        checksum = _sha256_b64(self._part_hash)
        self._part_hash = hashlib.sha256()
        self._filled = 0
        self._numbered += 1
        try:
            await self._in_flight.acquire()
        except BaseException:
            self._store.budget.give_back()
            raise
        task = asyncio.create_task(self._upload_part(self._numbered, buffer, checksum))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _upload_part(self, number: int, body: io.BytesIO, checksum: str) -> None:
        try:
            answer = await self._store.client.upload_part(
                Bucket=self._store.settings.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=body,
                ChecksumSHA256=checksum,
            )
            self._parts[number] = {
                "PartNumber": number,
                "ETag": answer["ETag"],
                "ChecksumSHA256": checksum,
            }
        except Exception as error:
            # Kept for the next write or finish to raise: a task's error would go unseen.
            if self._failure is None:
                log.warning("Sending part %d of %s failed: %r", number, self.key, error)
                self._failure = storage_error(error)
        finally:
            del body
            self._store.budget.give_back()
            self._in_flight.release()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


def _take(views: list[memoryview], room: int) -> tuple[list[memoryview], list[memoryview]]:
    """Up to ``room`` bytes from the front of ``views``, and what is left."""
    taken: list[memoryview] = []
    for index, view in enumerate(views):
        if len(view) >= room:
            taken.append(view[:room])
            rest = [view[room:]] if len(view) > room else []
            return taken, rest + views[index + 1 :]
        taken.append(view)
        room -= len(view)
    return taken, []


def _copy_and_hash(
    digests: Sequence[Any], buffer: io.BytesIO, segments: Sequence[memoryview]
) -> None:
    """Feed ``segments`` to every digest and append them to ``buffer``; for the writer
    thread, as ``hash_and_write`` is, with a copy in memory for the file write."""
    for segment in segments:
        for digest in digests:
            digest.update(segment)
        buffer.write(segment)


def _read_and_hash(
    digests: Sequence[Any], buffer: io.BytesIO, descriptor: int, offset: int, length: int
) -> int:
    """Read ``length`` bytes at ``offset`` straight into ``buffer`` and hash them; return
    how many there were."""
    if length == 0:
        return 0
    buffer.seek(length - 1)
    buffer.write(b"\0")
    read = 0
    with buffer.getbuffer() as whole:
        while read < length:
            count = os.preadv(descriptor, [whole[read:length]], offset + read)
            if count == 0:
                break
            read += count
        for digest in digests:
            digest.update(whole[:read])
    buffer.truncate(read)
    return read


class S3OpenedFile(OpenedFile):
    """A stored object as it was when opened: reads name its ETag, so a replaced object fails
    instead of mixing two versions."""

    def __init__(self, store: S3UploadStore, stored: StoredFile, size: int, etag: str) -> None:
        super().__init__(stored, size)
        self.etag = etag
        self._store = store
        self._responses: set[Any] = set()

    async def chunks(self, first: int, last: int) -> AsyncIterator[bytes]:
        """Stream the span with one ranged GetObject, in chunks of bounded size."""
        if last < first:
            return
        with _as_storage_errors("download"):
            answer = await self._store.client.get_object(
                Bucket=self._store.settings.bucket,
                Key=self._store.key(self.stored.name),
                Range=f"bytes={first}-{last}",
                IfMatch=self.etag,
            )
        body = answer["Body"]
        self._responses.add(body)
        sent = 0
        try:
            while True:
                with _as_storage_errors("download"):
                    chunk = await body.read(_READ_CHUNK)
                if not chunk:
                    break
                sent += len(chunk)
                yield chunk
        finally:
            self._responses.discard(body)
            body.close()
        if sent != last + 1 - first:
            raise OSError(f"{self.stored.name} is shorter than when it was opened")

    async def direct_url(self, *, content_disposition: str) -> str | None:
        """A presigned GET answering with ``content_disposition``, if the store is set to
        give them."""
        settings = self._store.settings
        if not settings.presigned_downloads:
            return None
        with _as_storage_errors("presigning"):
            return await self._store.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": settings.bucket,
                    "Key": self._store.key(self.stored.name),
                    "ResponseContentDisposition": content_disposition,
                    # SeaweedFS answers a type of its own choosing otherwise.
                    "ResponseContentType": self.stored.content_type,
                },
                ExpiresIn=settings.presigned_expiry,
            )

    def close(self) -> None:
        """Drop any response still open; later calls do nothing."""
        responses, self._responses = self._responses, set()
        for body in responses:
            body.close()


IncomingFile = S3IncomingFile | TempUpload


class S3UploadStore:
    """Files in an S3 bucket under a prefix, with their quota ledger in a local state folder."""

    def __init__(
        self,
        state_root: Path,
        settings: S3Settings,
        *,
        quota: int | None = None,
        fsync: bool = True,
        ledger: UsageLedger | None = None,
    ) -> None:
        """``ledger`` replaces the one in the state folder (one shared by several hosts)."""
        self.root = state_root
        self.settings = settings
        self.fsync = fsync
        self.ledger = ledger or UsageLedger(state_root / META_DIR, quota=quota)
        self.budget = PartBudget(settings.part_size, settings.buffer_total)
        self._uploads = TempFolder(state_root / _UPLOADS_DIR)
        self._lock = asyncio.Lock()
        self._waiting_commits: list[
            tuple[Sequence[S3IncomingFile], asyncio.Future[list[StoredFile]]]
        ] = []
        self._committer: asyncio.Future[None] | None = None
        self._client: S3Client | None = None
        self._exit_stack = AsyncExitStack()
        # (key, upload id if known, mark) of aborts that failed, retried at each begin.
        self._unaborted: list[tuple[str, str | None, Path]] = []
        # Resumable uploads are received on local disk and use these as the local store's do.
        self.flush_executor = ThreadPoolExecutor(_FLUSH_THREADS, thread_name_prefix="s3-flush")
        self._writer = WriterThread("s3-upload-writer")
        self.writing = TempWriting(fsync, self._writer, self.flush_executor, self.ledger.in_flight)

    @property
    def quota(self) -> int | None:
        """The most bytes the store may hold, or ``None`` for no limit."""
        return self.ledger.quota

    @property
    def client(self) -> S3Client:
        """The store's S3 client (from ``prepare()`` to ``close()``)."""
        assert self._client is not None, "the store is not prepared"
        return self._client

    @property
    def in_flight_bytes(self) -> int:
        """Bytes received into this process's uploads and not yet committed or discarded."""
        return self.ledger.in_flight.count

    def key(self, name: str) -> str:
        """The object key of the stored file ``name``."""
        return f"{self.settings.prefix}{name}"

    def _meta_key(self, name: str) -> str:
        return f"{self.settings.prefix}{_OBJECT_META}{name}.json"

    def count_reservations_with(self, counter: Callable[[], int]) -> None:
        """Have recovery add ``counter()`` (bytes reserved on disk) to the usage ledger."""
        self.ledger.count_reservations_with(counter)

    def reserve_blocking(self, extra_bytes: int, record: Callable[[], None]) -> None:
        """Reserve ``extra_bytes`` (release them if negative) and ``record()`` the
        reservation, both under the ledger's exclusive lock; 507 beyond the quota."""
        self.ledger.reserve_blocking(extra_bytes, record)

    def fits(self, extra_bytes: int) -> bool:
        """Whether ``extra_bytes`` more fit the quota by the ledger as last read (no I/O)."""
        return self.ledger.fits(extra_bytes)

    async def ensure_room(self, extra_bytes: int) -> None:
        """Raise 507 unless ``extra_bytes`` more fit the quota by the shared ledger, read now."""
        await self.ledger.ensure_room(extra_bytes)

    async def used_bytes(self) -> int:
        """Bytes held by published files (and reservations), as the shared ledger records."""
        return await asyncio.to_thread(self.ledger.read_shared)

    async def prepare(self) -> None:
        """Open the client, claim this instance's marks, then recover under the ledger's lock:
        abort dead instances' multipart uploads, undo interrupted commits, recount usage."""
        await asyncio.to_thread(self._make_folders)
        self._client = await self._exit_stack.enter_async_context(self._new_client())
        await self.ledger.start()
        async with self._lock, self.ledger.locked_from_loop():
            await asyncio.to_thread(self._uploads.claim)
            await self._abort_dead_uploads()
            await self._undo_interrupted_commits()
            objects = {name: size for _, name, size in await self._list_objects()}
            for name in await self.ledger.recount(objects, self._record_in_bucket):
                log.warning("Removing %s: an object no record describes", name)
                await self._remove(name)

    async def close(self) -> None:
        """Abort this instance's uploads still marked, close the client, let threads end.

        Marks whose upload could not be aborted stay for the next start to abort."""
        keep_marks = True
        try:
            if self._client is not None:
                await self._retry_aborts()
                await self._abort_marked(await asyncio.to_thread(self._uploads.own_files))
                keep_marks = bool(await asyncio.to_thread(self._uploads.own_files))
        finally:
            self._writer.stop()
            self.flush_executor.shutdown(wait=False)
            await self._exit_stack.aclose()
            self._client = None
            await self.ledger.stop()
            await asyncio.to_thread(partial(self._uploads.release, keep_files=keep_marks))

    async def check_reachable(self) -> bool:
        """Whether the bucket answers now (HeadBucket), for a health check."""
        try:
            await self.client.head_bucket(Bucket=self.settings.bucket)
        except (BotoCoreError, ClientError, aiohttp.ClientError, OSError, TimeoutError):
            return False
        return True

    async def begin(
        self, original_name: str, content_type: str, *, expected_sha256: str | None = None
    ) -> S3IncomingFile:
        """Start a multipart upload for one incoming file, under a new free name."""
        await self._retry_aborts()
        name = await self._free_name(original_name)
        marker = self._uploads.new_path()
        # Marked before it is created: a begin cancelled or timed out while S3 creates the
        # upload leaves a mark by which the upload is found and aborted later.
        await asyncio.to_thread(self._mark, marker, self.key(name))
        try:
            with _as_storage_errors("creating an upload"):
                created = await self.client.create_multipart_upload(
                    Bucket=self.settings.bucket,
                    Key=self.key(name),
                    ContentType=content_type,
                    Metadata={"original-name": quote(original_name, safe="")},
                    ChecksumAlgorithm="SHA256",
                )
        except Exception:
            self._unaborted.append((self.key(name), None, marker))
            raise
        return S3IncomingFile(
            self,
            name=name,
            upload_id=created["UploadId"],
            marker=marker,
            original_name=original_name,
            content_type=content_type,
            expected_sha256=expected_sha256,
        )

    async def commit(self, uploads: Sequence[IncomingFile]) -> list[StoredFile]:
        """Publish finished uploads, all or none; afterwards none is left in progress.

        A ``TempUpload`` (a resumable upload received on disk) is sent first and its local
        file removed. Cancelling the caller does not stop a commit once it has begun.
        """
        return await asyncio.shield(self._commit(uploads))

    async def _commit(self, uploads: Sequence[IncomingFile]) -> list[StoredFile]:
        sent: list[S3IncomingFile] = []
        try:
            for upload in uploads:
                sent.append(
                    await self._send_local(upload) if isinstance(upload, TempUpload) else upload
                )
            published: asyncio.Future[list[StoredFile]] = (
                asyncio.get_running_loop().create_future()
            )
            self._waiting_commits.append((sent, published))
            if self._committer is None or self._committer.done():
                self._committer = asyncio.ensure_future(self._commit_waiting())
            return await published
        except BaseException:
            for upload in sent:
                await upload.discard()
            raise
        finally:
            for upload in [*uploads, *sent]:
                upload.forget()

    async def _commit_waiting(self) -> None:
        """Publish the commits that queued up meanwhile together, each still all or none:
        one at a time, each waited for the lock and its round trips behind the others."""
        async with self._lock:
            while self._waiting_commits:
                group, self._waiting_commits = self._waiting_commits, []
                await publish_and_settle(group, partial(self._publish_locked, group))

    async def _publish_locked(
        self, group: Sequence[tuple[Sequence[S3IncomingFile], Any]]
    ) -> list[list[StoredFile] | BaseException]:
        async with self.ledger.locked_from_loop():
            return await self._publish_group([uploads for uploads, _ in group])

    async def _publish_group(
        self, group: Sequence[Sequence[S3IncomingFile]]
    ) -> list[list[StoredFile] | BaseException]:
        """Complete every request's uploads at once under one journal, which a restart uses
        to undo a crash; run under the ledger's exclusive lock."""
        used = await self.ledger.total()
        outcomes: list[list[StoredFile] | BaseException] = []
        incoming = 0
        for uploads in group:
            size = sum(upload.size - upload.reserved for upload in uploads)
            if self.ledger.exceeds_quota(used, incoming + size):
                outcomes.append(
                    InsufficientStorageError("The upload would exceed the storage quota.")
                )
            else:
                outcomes.append(self._describe(uploads))
                incoming += size
        names = [
            file.name for outcome in outcomes if isinstance(outcome, list) for file in outcome
        ]
        if not names:
            return outcomes
        journal = await self._write_journal(names)
        results = await asyncio.gather(
            *(
                self._publish_request(uploads, outcome)
                for uploads, outcome in zip(group, outcomes, strict=True)
                if isinstance(outcome, list)
            ),
            return_exceptions=True,
        )
        published = iter(results)
        outcomes = [next(published) if isinstance(o, list) else o for o in outcomes]
        public = [
            (upload, file)
            for uploads, outcome in zip(group, outcomes, strict=True)
            if isinstance(outcome, list)
            for upload, file in zip(uploads, outcome, strict=True)
        ]
        try:
            await self.ledger.record_publication(
                used,
                files=[file for _, file in public],
                consumed=sum(upload.reserved for upload, _ in public),
            )
        except (OSError, StorageUnavailableError) as error:
            if not self.ledger.keeps_catalog:
                # The objects are out; the next start recounts the ledger from the listing.
                log.exception("Recording a commit in the usage ledger failed")
            else:
                # Files the catalog does not list are not published: take them back (the
                # journal stays for the next start if that fails too).
                log.warning("Recording a commit in the catalog failed: %r", error)
                failed: BaseException = StorageUnavailableError()
                if not await self._remove_all([file.name for _, file in public]):
                    failed = _RemovalFailedError(failed)
                outcomes = [failed if isinstance(o, list) else o for o in outcomes]
        unremoved = [
            upload.name
            for uploads, outcome in zip(group, outcomes, strict=True)
            if isinstance(outcome, _RemovalFailedError)
            for upload in uploads
        ]
        if unremoved:
            # The next start must undo these requests only, not the others of the group.
            await self._write_journal(unremoved)
        await asyncio.to_thread(journal.unlink, missing_ok=True)
        return [
            outcome.error if isinstance(outcome, _RemovalFailedError) else outcome
            for outcome in outcomes
        ]

    async def _write_journal(self, names: Sequence[str]) -> Path:
        journal = self.ledger.meta_dir / f"{_JOURNAL_PREFIX}{secrets.token_hex(8)}.json"
        await asyncio.to_thread(write_new, journal, json.dumps(names).encode(), fsync=self.fsync)
        return journal

    def _describe(self, uploads: Sequence[S3IncomingFile]) -> list[StoredFile]:
        created = time.time()
        return [
            StoredFile(
                name=upload.name,
                original_name=upload.original_name,
                size=upload.size,
                sha256=upload.sha256,
                content_type=upload.content_type,
                created=created,
            )
            for upload in uploads
        ]

    async def _publish_request(
        self, uploads: Sequence[S3IncomingFile], stored: list[StoredFile]
    ) -> list[StoredFile]:
        """Complete one request's uploads; on any failure remove those it completed."""
        results = await asyncio.gather(
            *(self._publish_one(u, f) for u, f in zip(uploads, stored, strict=True)),
            return_exceptions=True,
        )
        errors = [result for result in results if isinstance(result, BaseException)]
        if not errors:
            return stored
        if not await self._remove_all([file.name for file in stored]):
            raise _RemovalFailedError(errors[0])
        raise errors[0]

    async def _publish_one(self, upload: S3IncomingFile, file: StoredFile) -> None:
        # Metadata first: a published object always has it (a catalog records it after).
        if not self.ledger.keeps_catalog:
            await self._put_metadata(file)
        with _as_storage_errors("completing an upload"):
            await self.client.complete_multipart_upload(
                Bucket=self.settings.bucket,
                Key=upload.key,
                UploadId=upload.upload_id,
                MultipartUpload={"Parts": upload.completed_parts()},
            )
        upload.settled()
        await asyncio.to_thread(upload.marker.unlink, missing_ok=True)

    async def _send_local(self, upload: TempUpload) -> S3IncomingFile:
        """Send a file received on disk as a multipart upload, then delete the local file."""
        incoming = await self.begin(
            upload.original_name, upload.content_type, expected_sha256=upload.sha256
        )
        incoming.reserved = upload.reserved
        try:
            descriptor = await asyncio.to_thread(os.open, upload.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                await incoming.fill_from(descriptor, upload.size)
            finally:
                os.close(descriptor)
            await incoming.finish()
        except BaseException:
            await incoming.discard()
            raise
        finally:
            await asyncio.to_thread(Path(upload.path).unlink, missing_ok=True)
        # The local file's bytes were counted in flight; the sent ones are now.
        upload.forget()
        return incoming

    async def get(self, name: str) -> StoredFile | None:
        """The stored file called ``name``, or ``None``."""
        if not is_stored_name(name):
            return None
        found = await self._head(name)
        return None if found is None else found[0]

    async def open(self, name: str) -> OpenedFile | None:
        """The stored file ``name`` as it is now, or ``None``; the caller closes it."""
        if not is_stored_name(name):
            return None
        found = await self._head(name)
        if found is None:
            return None
        stored, size, etag = found
        return S3OpenedFile(self, stored, size, etag)

    async def delete(self, name: str) -> bool:
        """Remove a stored file and its metadata; ``False`` if there was none."""
        if not is_stored_name(name):
            return False
        async with self._lock, self.ledger.locked_from_loop():
            found = await self._head(name)
            if found is None:
                return False
            if self.ledger.keeps_catalog:
                # Out of the catalog first: it is deleted then, and an object left behind is
                # unlisted, and removed by the next start.
                await self.ledger.record_deletion(found[0])
                try:
                    await self._remove(name)
                except UploadError:
                    log.exception("Removing %s failed; the next start will", name)
                return True
            await self._remove(name)
            try:
                await self.ledger.record_deletion(found[0])
            except (OSError, StorageUnavailableError):
                log.exception("Recording the deletion of %s in the usage ledger failed", name)
            return True

    async def list_page(self, page: int, per_page: int) -> StoredPage:
        """Stored files, newest first, ``per_page`` at a time (pages count from 1)."""
        page, per_page = max(page, 1), max(per_page, 1)
        if self.ledger.keeps_catalog:
            return await self.ledger.page(page, per_page)
        objects = await self._list_objects()
        objects.sort(key=lambda item: (-item[0], item[1]))
        window = objects[(page - 1) * per_page : page * per_page]
        described = await asyncio.gather(*(self._metadata(name) for _, name, _ in window))
        return StoredPage(
            files=[file for file in described if file is not None],
            page=page,
            pages=max(math.ceil(len(objects) / per_page), 1),
            total=len(objects),
        )

    async def abort(self, upload: S3IncomingFile) -> None:
        """Abort ``upload``'s multipart upload; on failure keep it for a later retry."""
        await self._abort_quietly(upload.key, upload.upload_id, upload.marker)

    async def _abort_quietly(self, key: str, upload_id: str | None, marker: Path | None) -> None:
        try:
            with _as_storage_errors("aborting an upload"):
                await self._abort_one(key, upload_id)
        except UploadError:
            if marker is not None:
                self._unaborted.append((key, upload_id, marker))
            return
        if marker is not None:
            await asyncio.to_thread(marker.unlink, missing_ok=True)

    async def _abort_one(self, key: str, upload_id: str | None) -> None:
        """Abort the multipart upload ``upload_id`` of ``key``, or every one of ``key``."""
        if upload_id is None:
            listed = await self.client.list_multipart_uploads(
                Bucket=self.settings.bucket, Prefix=key
            )
            found = [u["UploadId"] for u in listed.get("Uploads", []) if u.get("Key") == key]
        else:
            found = [upload_id]
        for each in found:
            try:
                await self.client.abort_multipart_upload(
                    Bucket=self.settings.bucket, Key=key, UploadId=each
                )
            except ClientError as error:
                if not _is_missing(error):
                    raise

    async def _retry_aborts(self) -> None:
        pending, self._unaborted = self._unaborted, []
        for key, upload_id, marker in pending:
            await self._abort_quietly(key, upload_id, marker)

    def _new_client(self) -> Any:
        settings = self.settings
        return get_session().create_client(
            "s3",
            endpoint_url=settings.endpoint_url,
            region_name=settings.region,
            aws_access_key_id=settings.access_key,
            aws_secret_access_key=settings.secret_key,
            config=AioConfig(
                # Payloads are not hashed for the signature: each part carries its own
                # SHA-256, which the signature covers and the server checks.
                s3={"addressing_style": "path", "payload_signing_enabled": False},
                # Named: unnamed, presigned links with response headers fail SeaweedFS's check.
                signature_version="s3v4",
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=_CONNECT_TIMEOUT,
                read_timeout=_READ_TIMEOUT,
                retries={"max_attempts": _ATTEMPTS, "mode": "standard"},
                max_pool_connections=self.budget.slots + 16,
            ),
        )

    def _make_folders(self) -> None:
        for folder in (self.root, self.ledger.meta_dir, self._uploads.path):
            folder.mkdir(parents=True, exist_ok=True)

    def _mark(self, marker: Path, key: str) -> None:
        write_new(marker, json.dumps({"key": key}).encode(), fsync=self.fsync)

    async def _abort_dead_uploads(self) -> None:
        await self._abort_marked(await asyncio.to_thread(self._uploads.dead_files))
        await asyncio.to_thread(self._uploads.drop_dead_owners)

    async def _abort_marked(self, marks: Sequence[Path]) -> None:
        """Abort the multipart uploads that ``marks`` record (left by a stopped instance,
        or by this one as it stops)."""
        for mark in marks:
            try:
                recorded = json.loads(await asyncio.to_thread(mark.read_bytes))
                key = str(recorded["key"])
            except (OSError, ValueError, KeyError, TypeError):
                await asyncio.to_thread(mark.unlink, missing_ok=True)
                continue
            log.warning("Aborting the multipart upload of %s, left unfinished", key)
            await self._abort_quietly(key, None, mark)

    async def _undo_interrupted_commits(self) -> None:
        journals = await asyncio.to_thread(
            lambda: sorted(self.ledger.meta_dir.glob(f"{_JOURNAL_PREFIX}*.json"))
        )
        for journal in journals:
            try:
                names = json.loads(await asyncio.to_thread(journal.read_bytes))
            except ValueError:
                names = []
            valid = [name for name in names if isinstance(name, str) and is_stored_name(name)]
            log.warning("Undoing an interrupted commit of %s", ", ".join(valid))
            if await self._remove_all(valid, raising=True):
                await asyncio.to_thread(journal.unlink, missing_ok=True)

    async def _remove_all(self, names: Sequence[str], *, raising: bool = False) -> bool:
        """Remove stored files; ``False`` leaves a journal for recovery to finish."""
        try:
            for name in names:
                await self._remove(name)
        except UploadError:
            if raising:
                raise
            log.exception("Undoing a failed commit failed; the next start will finish it")
            return False
        return True

    async def _remove(self, name: str) -> None:
        # The object first: metadata without its object is never listed. With a catalog, the
        # record first: an object without one is what the next start removes, where a record
        # in the bucket would have it adopted again.
        keys = [self.key(name), self._meta_key(name)]
        if self.ledger.keeps_catalog:
            keys.reverse()
        with _as_storage_errors("deleting"):
            for key in keys:
                await self.client.delete_object(Bucket=self.settings.bucket, Key=key)

    async def _put_metadata(self, file: StoredFile) -> None:
        with _as_storage_errors("writing metadata"):
            await self.client.put_object(
                Bucket=self.settings.bucket,
                Key=self._meta_key(file.name),
                Body=json.dumps(asdict(file)).encode(),
                ContentType="application/json",
            )

    async def _free_name(self, original_name: str) -> str:
        while True:
            name = safe_stored_name(original_name)
            if await self._object_size(name) is None:
                return name

    async def _object_size(self, name: str) -> tuple[int, str] | None:
        with _as_storage_errors("looking up a file"):
            head = await _missing_as_none(
                self.client.head_object(Bucket=self.settings.bucket, Key=self.key(name))
            )
        return None if head is None else (int(head["ContentLength"]), str(head["ETag"]))

    async def _head(self, name: str) -> tuple[StoredFile, int, str] | None:
        found, stored = await asyncio.gather(self._object_size(name), self._metadata(name))
        if found is None or stored is None:
            return None
        return stored, found[0], found[1]

    async def _metadata(self, name: str) -> StoredFile | None:
        if self.ledger.keeps_catalog:
            return await self.ledger.describe(name)
        return await self._record_in_bucket(name)

    async def _record_in_bucket(self, name: str) -> StoredFile | None:
        """The record kept beside the object ``name`` in the bucket, or ``None``."""
        with _as_storage_errors("reading metadata"):
            answer = await _missing_as_none(
                self.client.get_object(Bucket=self.settings.bucket, Key=self._meta_key(name))
            )
            if answer is None:
                return None
            async with answer["Body"] as body:
                raw = await body.read()
        return stored_file_from_json(name, raw)

    async def _list_objects(self) -> list[tuple[float, str, int]]:
        """(last modified, name, size) of every stored object under the prefix."""
        found: list[tuple[float, str, int]] = []
        paginator = self.client.get_paginator("list_objects_v2")
        with _as_storage_errors("listing"):
            async for page in paginator.paginate(
                Bucket=self.settings.bucket, Prefix=self.settings.prefix, Delimiter="/"
            ):
                for item in page.get("Contents", []):
                    name = item["Key"].removeprefix(self.settings.prefix)
                    if is_stored_name(name):
                        found.append((item["LastModified"].timestamp(), name, item["Size"]))
        return found


class _RemovalFailedError(Exception):
    """A failed request's completed objects could not all be removed: its journal stays."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


async def _missing_as_none(request: Awaitable[T]) -> T | None:
    try:
        return await request
    except ClientError as error:
        if _is_missing(error):
            return None
        raise
