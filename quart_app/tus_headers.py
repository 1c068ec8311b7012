"""Reading and writing the tus 1.0.0 protocol's headers (no Quart: strings in, values out)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Final

from .upload_engine import (
    CHECKSUM_ALGORITHMS,
    ChunkChecksum,
    MalformedUploadError,
    ResumableUpload,
    normalised_digest,
)

TUS_VERSION: Final = "1.0.0"
TUS_EXTENSIONS: Final = (
    "creation,creation-with-upload,creation-defer-length,termination,checksum,"
    "expiration,concatenation"
)
OFFSET_OCTET_STREAM: Final = "application/offset+octet-stream"
_METADATA_KEY: Final = re.compile(r"[^\s,]+")
_DIGITS: Final = re.compile(r"[0-9]{1,19}")
_PART_ID: Final = re.compile(r"(?:.*/)?([^/]+)/?")
_DEFAULT_NAME: Final = "upload"
_DEFAULT_TYPE: Final = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class UploadDescription:
    """What ``Upload-Metadata`` says of the file: its name, type and expected SHA-256."""

    original_name: str
    content_type: str
    expected_sha256: str | None


def whole_number(name: str, value: str | None) -> int | None:
    """A header's non-negative integer (``None`` if absent); 400 if it is anything else."""
    if value is None:
        return None
    if not _DIGITS.fullmatch(value.strip()):
        raise MalformedUploadError(f"{name} must be a whole number of bytes.")
    return int(value)


def parse_metadata(value: str | None) -> dict[str, str]:
    """``Upload-Metadata`` as keys and decoded values; 400 if it is not well formed."""
    pairs: dict[str, str] = {}
    for member in (value or "").split(","):
        if not member.strip():
            continue
        key, _, encoded = member.strip().partition(" ")
        if not _METADATA_KEY.fullmatch(key) or key in pairs:
            raise MalformedUploadError(f"Upload-Metadata has a bad or repeated key {key!r}.")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise MalformedUploadError(
                f"Upload-Metadata's {key!r} is not base64-encoded UTF-8."
            ) from None
    return pairs


def describe_upload(metadata: Mapping[str, str], digest_header: str | None) -> UploadDescription:
    """The file's name and type from ``filename``/``filetype``, and its expected SHA-256
    from ``sha256`` (hex) or the digest header already read."""
    return UploadDescription(
        original_name=metadata.get("filename") or _DEFAULT_NAME,
        content_type=metadata.get("filetype") or _DEFAULT_TYPE,
        expected_sha256=normalised_digest(metadata.get("sha256")) or digest_header,
    )


def parse_checksum(value: str | None) -> ChunkChecksum | None:
    """``Upload-Checksum: <algorithm> <base64>``; 400 for an algorithm not supported."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise MalformedUploadError(f"Checksum algorithm {algorithm!r} is not supported.")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise MalformedUploadError("Upload-Checksum's digest is not valid base64.") from None
    return ChunkChecksum(algorithm, digest)


def final_parts(value: str | None) -> list[str] | None:
    """The upload ids of ``Upload-Concat: final;<url> <url>`` (``None`` if not final)."""
    if value is None or not value.startswith("final;"):
        return None
    urls = value.removeprefix("final;").split()
    if not urls:
        raise MalformedUploadError("Upload-Concat: final; names no partial uploads.")
    parts = []
    for url in urls:
        match = _PART_ID.fullmatch(url)
        if match is None:
            raise MalformedUploadError(f"{url!r} is not an upload's URL.")
        parts.append(match.group(1))
    return parts


def is_partial(value: str | None) -> bool:
    """Whether ``Upload-Concat`` asks for a partial upload; 400 if it asks for neither kind."""
    if value is None or value.startswith("final;"):
        return False
    if value.strip() != "partial":
        raise MalformedUploadError("Upload-Concat must be 'partial' or 'final;<urls>'.")
    return True


def upload_headers(upload: ResumableUpload) -> dict[str, str]:
    """The headers that describe an upload's progress (HEAD, and after each write)."""
    headers = {"Upload-Offset": str(upload.offset)}
    if upload.expires is not None and upload.stored_name is None:
        headers["Upload-Expires"] = formatdate(upload.expires, usegmt=True)
    return headers
