"""The streaming upload engine: multipart parsing, limits, storage, crash recovery, shutdown.

It imports no Quart: the app wires it in (``upload_settings``, ``backpressure``)."""

from __future__ import annotations

from .digests import sha256_from_digest_header
from .errors import (
    ChecksumMismatchError,
    DigestMismatchError,
    InsufficientStorageError,
    MalformedUploadError,
    ServerStoppingError,
    StorageFailedError,
    StorageTimeoutError,
    StorageUnavailableError,
    UnsupportedUploadTypeError,
    UploadError,
    UploadGoneError,
    UploadLockedError,
    UploadNotFoundError,
    UploadOffsetMismatchError,
    UploadTimeoutError,
    UploadTooLargeError,
)
from .file_store import FileStore, IncomingFile
from .limits import UploadLimits
from .receive import DIGEST_FIELD, FieldsCheck, normalised_digest, receive_uploads
from .resumable import CHECKSUM_ALGORITHMS, ChunkChecksum, ResumableStore, ResumableUpload
from .s3_store import S3IncomingFile, S3OpenedFile, S3Settings, S3UploadStore
from .shutdown import Shutdown
from .storage import LocalOpenedFile, UploadStore
from .stored_files import OpenedFile, StoredFile, StoredPage, is_stored_name
from .temp_files import TempUpload

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "DIGEST_FIELD",
    "ChecksumMismatchError",
    "ChunkChecksum",
    "DigestMismatchError",
    "FieldsCheck",
    "FileStore",
    "IncomingFile",
    "InsufficientStorageError",
    "LocalOpenedFile",
    "MalformedUploadError",
    "OpenedFile",
    "ResumableStore",
    "ResumableUpload",
    "S3IncomingFile",
    "S3OpenedFile",
    "S3Settings",
    "S3UploadStore",
    "ServerStoppingError",
    "Shutdown",
    "StorageFailedError",
    "StorageTimeoutError",
    "StorageUnavailableError",
    "StoredFile",
    "StoredPage",
    "TempUpload",
    "UnsupportedUploadTypeError",
    "UploadError",
    "UploadGoneError",
    "UploadLimits",
    "UploadLockedError",
    "UploadNotFoundError",
    "UploadOffsetMismatchError",
    "UploadStore",
    "UploadTimeoutError",
    "UploadTooLargeError",
    "is_stored_name",
    "normalised_digest",
    "receive_uploads",
    "sha256_from_digest_header",
]
