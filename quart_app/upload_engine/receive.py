"""Receiving a multipart upload: parse as it arrives, write each file once, keep all or none."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from typing import Any, Final

from .durable_files import log
from .errors import (
    MalformedUploadError,
    ServerStoppingError,
    UnsupportedUploadTypeError,
    UploadTimeoutError,
    UploadTooLargeError,
)
from .file_store import FileStore, IncomingFile
from .limits import UploadLimits
from .multipart_stream import MultipartStream, PartData, PartStart, multipart_boundary
from .shutdown import Shutdown
from .stored_files import StoredFile

DIGEST_FIELD: Final = "sha256"
_HEX_SHA256: Final = re.compile(r"[0-9a-fA-F]{64}")

FieldsCheck = Callable[[Mapping[str, list[str]]], None]


async def receive_uploads(
    batches: AsyncIterable[Sequence[bytes]],
    *,
    content_type: str | None,
    content_length: int | None,
    limits: UploadLimits,
    store: FileStore[Any],
    expected_sha256: str | None = None,
    check_fields: FieldsCheck | None = None,
    shutdown: Shutdown | None = None,
) -> list[StoredFile]:
    """Store every file part of a multipart body and return them; on any error keep nothing.

    The body arrives as ``batches`` of chunks (as a server delivers them); each batch costs
    one write per file it carries. A body without file parts stores nothing and returns an
    empty list.

    ``expected_sha256`` (hex) applies to a single-file request. A form field named
    ``sha256`` sets the expected digest of the next file part. ``check_fields`` sees
    the plain fields sent before the first file part (or all of them, in a body
    without files) before any file byte is written, and may raise to refuse the
    request. Once ``shutdown`` has begun, new bodies are refused and bodies still
    arriving at its deadline are cut off (503).
    """
    if shutdown is not None:
        shutdown.refuse_new_uploads()
    boundary = multipart_boundary(content_type)
    if limits.max_request_size is not None and (content_length or 0) > limits.max_request_size:
        raise UploadTooLargeError()
    if content_length is not None:
        await store.ensure_room(content_length - limits.largest_envelope(len(boundary)))
    receiver = _UploadReceiver(
        boundary,
        limits=limits,
        store=store,
        expected_sha256=normalised_digest(expected_sha256),
        check_fields=check_fields,
        shutdown=shutdown or Shutdown(),
    )
    try:
        received = await receiver.consume(batches)
        if content_length is not None and received != content_length:
            raise MalformedUploadError("The body is shorter than its Content-Length.")
        uploads = receiver.finish()
    except BaseException:
        # Shielded so that a second cancellation cannot leave a temp file behind.
        await asyncio.shield(receiver.discard())
        raise
    return await store.commit(uploads) if uploads else []


def normalised_digest(value: str | None) -> str | None:
    """A hex SHA-256 in lower case (``None`` stays ``None``); 400 if it is not one."""
    if value is None:
        return None
    if not _HEX_SHA256.fullmatch(value):
        raise MalformedUploadError("An expected SHA-256 must be 64 hexadecimal digits.")
    return value.lower()


class _UploadReceiver:
    """The state of one request's parse: the current part and the files finished so far."""

    def __init__(
        self,
        boundary: bytes,
        *,
        limits: UploadLimits,
        store: FileStore[Any],
        expected_sha256: str | None,
        check_fields: FieldsCheck | None,
        shutdown: Shutdown,
    ) -> None:
        self._parser = MultipartStream(boundary, max_header_size=limits.max_part_header_size)
        self._limits = limits
        self._store = store
        self._request_digest = expected_sha256
        self._check_fields = check_fields
        self._shutdown = shutdown
        self._fields: dict[str, list[str]] = {}
        self._field_count = 0
        self._field_name: str | None = None
        self._field_value = bytearray()
        self._skipping = False
        self._unnamed_files = 0
        self._next_digest: str | None = None
        self._file: IncomingFile | None = None
        self._files: list[IncomingFile] = []
        # The current file's content parsed since its last write: views of received chunks.
        self._unwritten: list[memoryview] = []
        self._unwritten_size = 0

    async def consume(self, batches: AsyncIterable[Sequence[bytes]]) -> int:
        """Feed the whole body through the parser; return its length."""
        limit = self._limits.max_request_size
        idle = self._limits.idle_timeout
        loop = asyncio.get_running_loop()
        received = 0
        iterator = aiter(batches)
        # One timer for the whole body, moved at each chunk: the idle timeout while waiting
        # for the client, the shutdown deadline (if any) throughout.
        try:
            async with asyncio.timeout(None) as timer:
                with self._shutdown.watching(timer):
                    while True:
                        timer.reschedule(self._shutdown.wait_deadline(loop.time(), idle))
                        try:
                            batch = await anext(iterator)
                        except StopAsyncIteration:
                            break
                        timer.reschedule(self._shutdown.deadline)
                        received += sum(len(chunk) for chunk in batch)
                        if limit is not None and received > limit:
                            raise UploadTooLargeError()
                        await self._store_batch(batch)
                        # Stored: let the batch go while the next one is awaited.
                        del batch
        except TimeoutError:
            if self._shutdown.has_passed(loop.time()):
                raise ServerStoppingError() from None
            raise UploadTimeoutError() from None
        self._parser.close()
        return received

    async def _store_batch(self, batch: Sequence[bytes]) -> None:
        for chunk in batch:
            await self._parse(chunk)
        await self._write_unwritten()

    async def _parse(self, chunk: bytes) -> None:
        for event in self._parser.feed(chunk):
            if isinstance(event, PartData):
                await self._part_data(event.data)
            elif isinstance(event, PartStart):
                await self._part_start(event)
            else:
                await self._part_end()

    def finish(self) -> list[IncomingFile]:
        """Run the last checks once the body is complete and hand over the finished files."""
        self._run_fields_check()
        if not self._files and self._unnamed_files:
            raise MalformedUploadError("The file has no name; choose a file to upload.")
        files, self._files = self._files, []
        return files

    async def discard(self) -> None:
        """Delete every temp file of this request; a failure is logged, never raised over
        the error that made the request fail."""
        pending = [*self._files, *([self._file] if self._file else [])]
        self._files, self._file = [], None
        for upload in pending:
            try:
                await upload.discard()
            except Exception:
                log.exception("Deleting the temp file %s failed", upload.path)

    def _run_fields_check(self) -> None:
        check, self._check_fields = self._check_fields, None
        if check is not None:
            check(self._fields)

    async def _part_start(self, part: PartStart) -> None:
        self._skipping = False
        if part.filename is None:
            self._field_count += 1
            if self._field_count > self._limits.max_fields:
                raise UploadTooLargeError("The form has too many fields.")
            self._field_name = part.name
            return
        # A browser sends an empty file part for a file input left empty; it counts too.
        self._skipping = not part.filename
        self._unnamed_files += self._skipping
        if len(self._files) + self._unnamed_files + (not self._skipping) > self._limits.max_files:
            raise UploadTooLargeError("The request has too many files.")
        if not part.filename:
            return
        self._run_fields_check()
        if not self._limits.extension_allowed(part.filename):
            raise UnsupportedUploadTypeError(f"Files like {part.filename!r} are not accepted.")
        if not self._limits.content_type_allowed(part.content_type):
            raise UnsupportedUploadTypeError(f"Type {part.content_type} is not accepted.")
        expected = self._next_digest
        self._next_digest = None
        if self._request_digest is not None:
            if self._files:
                raise MalformedUploadError("A digest header applies to single-file uploads only.")
            expected = expected or self._request_digest
        self._file = await self._store.begin(
            part.filename, part.content_type, expected_sha256=expected
        )

    async def _part_data(self, data: memoryview) -> None:
        if self._file is not None:
            size = self._file.size + self._unwritten_size + len(data)
            size_limit = self._limits.max_file_size
            if size_limit is not None and size > size_limit:
                raise UploadTooLargeError(f"{self._file.original_name!r} is larger than allowed.")
            extra = self._unwritten_size + len(data)
            if not self._store.fits(extra):
                await self._store.ensure_room(extra)
            self._unwritten.append(data)
            self._unwritten_size = extra
        elif not self._skipping:
            if len(self._field_value) + len(data) > self._limits.max_field_size:
                raise UploadTooLargeError("A form field is larger than allowed.")
            self._field_value += data

    async def _write_unwritten(self) -> None:
        if self._file is not None and self._unwritten:
            buffers = self._unwritten
            self._unwritten, self._unwritten_size = [], 0
            await self._file.write(buffers)

    async def _part_end(self) -> None:
        if self._file is not None:
            await self._write_unwritten()
            await self._file.finish()
            self._files.append(self._file)
            self._file = None
        elif self._field_name is not None:
            value = self._field_value.decode("utf-8", "replace")
            self._field_value.clear()
            if self._field_name == DIGEST_FIELD:
                self._next_digest = normalised_digest(value.strip())
            self._fields.setdefault(self._field_name, []).append(value)
            self._field_name = None
