"""The streaming upload engine: multipart parsing, limits, storage and (in ``bounded_body``)
Quart backpressure. Only ``bounded_body`` imports Quart."""

from __future__ import annotations

from .digests import sha256_from_digest_header
from .errors import (
    DigestMismatchError,
    InsufficientStorageError,
    MalformedUploadError,
    UnsupportedUploadTypeError,
    UploadError,
    UploadTimeoutError,
    UploadTooLargeError,
)
from .limits import UploadLimits
from .receive import DIGEST_FIELD, receive_uploads
from .storage import (
    OpenedFile,
    StoredFile,
    StoredPage,
    TempUpload,
    UploadStore,
    is_stored_name,
)

__all__ = [
    "DIGEST_FIELD",
    "DigestMismatchError",
    "InsufficientStorageError",
    "MalformedUploadError",
    "OpenedFile",
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
