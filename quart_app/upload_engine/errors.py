"""Upload failures, each carrying the HTTP status and a short message for the client."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar


class UploadError(Exception):
    """Base class: an upload was refused; nothing from the request is kept."""

    status: ClassVar[int] = 400
    default_message: ClassVar[str] = "The upload was malformed."
    headers: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class MalformedUploadError(UploadError):
    """The body is not a well-formed multipart/form-data message."""


class UploadTooLargeError(UploadError):
    """A size or count limit was exceeded."""

    status = 413
    default_message = "The data value transmitted exceeds the capacity limit."


class UnsupportedUploadTypeError(UploadError):
    """The request or a file has a type or extension that is not allowed."""

    status = 415
    default_message = "This type of file is not accepted."


class DigestMismatchError(UploadError):
    """A file's SHA-256 differs from the digest the client announced."""

    status = 422
    default_message = "The file's SHA-256 does not match the expected digest."


class UploadTimeoutError(UploadError):
    """The client sent no byte for longer than the idle timeout."""

    status = 408
    default_message = "The client stopped sending the upload."


class InsufficientStorageError(UploadError):
    """The storage quota or the disk itself is full."""

    status = 507
    default_message = "There is not enough storage space for this upload."


class ServerStoppingError(UploadError):
    """The server is shutting down and takes no more upload bytes."""

    status = 503
    default_message = "The server is restarting. Send the upload again in a few seconds."
    headers = MappingProxyType({"Retry-After": "5", "Connection": "close"})


class UploadNotFoundError(UploadError):
    """No resumable upload has that id (never created, finished long ago, or removed)."""

    status = 404
    default_message = "No upload has that id."


class UploadGoneError(UploadError):
    """The resumable upload expired before it was finished."""

    status = 410
    default_message = "The upload expired before it was finished."


class UploadOffsetMismatchError(UploadError):
    """A chunk was sent for another offset than the one the server holds."""

    status = 409
    default_message = "The offset does not match the bytes received so far."


class UploadLockedError(UploadError):
    """Another request is writing to the same resumable upload."""

    status = 423
    default_message = "Another request is writing to this upload; retry when it has ended."


class ChecksumMismatchError(UploadError):
    """A chunk's checksum differs from the one announced; the chunk was discarded."""

    status = 460
    default_message = "The chunk's checksum does not match; it was discarded."


class StorageUnavailableError(UploadError):
    """The file store (an object store) cannot be reached or answers that it is unavailable."""

    status = 503
    default_message = "The file store is not answering; try again later."
    headers = MappingProxyType({"Retry-After": "5"})


class StorageTimeoutError(UploadError):
    """The file store took longer to answer than the store's timeout allows."""

    status = 504
    default_message = "The file store did not answer in time; try again later."


class StorageFailedError(UploadError):
    """The file store refused a request it should have accepted."""

    status = 502
    default_message = "The file store refused the request."
