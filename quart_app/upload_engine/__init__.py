"""The streaming upload engine: multipart parsing, limits, storage, crash recovery, shutdown.

It imports no Quart: the app wires it in (``upload_settings``, ``backpressure``)."""

from __future__ import annotations

from .digests import sha256_from_digest_header
from .errors import (
    DigestMismatchError,
    InsufficientStorageError,
    MalformedUploadError,
    ServerStoppingError,
    UnsupportedUploadTypeError,
    UploadError,
    UploadTimeoutError,
    UploadTooLargeError,
)
from .limits import UploadLimits
from .receive import DIGEST_FIELD, FieldsCheck, receive_uploads
from .shutdown import Shutdown
from .storage import OpenedFile, StoredFile, StoredPage, UploadStore, is_stored_name
from .temp_files import TempUpload

__all__ = [
    "DIGEST_FIELD",
    "DigestMismatchError",
    "FieldsCheck",
    "InsufficientStorageError",
    "MalformedUploadError",
    "OpenedFile",
    "ServerStoppingError",
    "Shutdown",
    "StoredFile",
    "StoredPage",
    "TempUpload",
    "UnsupportedUploadTypeError",
    "UploadError",
    "UploadLimits",
    "UploadStore",
    "UploadTimeoutError",
    "UploadTooLargeError",
    "is_stored_name",
    "receive_uploads",
    "sha256_from_digest_header",
]
