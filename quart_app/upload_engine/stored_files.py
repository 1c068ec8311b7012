"""What every upload store hands out, whatever holds the bytes: stored files' metadata, pages of
the listing, stored names, and stored files opened for reading."""

from __future__ import annotations

import abc
import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

from werkzeug.utils import secure_filename

_MAX_STEM_LENGTH: Final = 80


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file published in the store, with the metadata kept beside it."""

    name: str
    original_name: str
    size: int
    sha256: str
    content_type: str
    created: float


def stored_file_from_json(name: str, data: bytes) -> StoredFile | None:
    """The stored file ``name`` as its metadata record (JSON) describes it; ``None`` if the
    record is unreadable."""
    try:
        recorded: dict[str, Any] = json.loads(data)
    except ValueError:
        return None
    return StoredFile(
        name=name,
        original_name=str(recorded.get("original_name", name)),
        size=int(recorded.get("size", 0)),
        sha256=str(recorded.get("sha256", "")),
        content_type=str(recorded.get("content_type", "application/octet-stream")),
        created=float(recorded.get("created", 0.0)),
    )


@dataclass(frozen=True, slots=True)
class StoredPage:
    """One page of the store's listing, newest first."""

    files: list[StoredFile]
    page: int
    pages: int
    total: int


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


class OpenedFile(abc.ABC):
    """A stored file held open for reading; whoever receives it closes it.

    Once opened, a delete no longer takes its content away from the reader (the local store
    holds the file open; an object store reads the version it looked up)."""

    def __init__(self, stored: StoredFile, size: int) -> None:
        self.stored = stored
        self.size = size

    @abc.abstractmethod
    def chunks(self, first: int, last: int) -> AsyncIterator[bytes]:
        """The bytes from ``first`` to ``last`` (inclusive), in chunks of bounded size."""

    async def direct_url(self, *, content_disposition: str) -> str | None:
        """A URL the client may fetch the file from itself (an object store's presigned
        link, answering with ``content_disposition``), or ``None`` if it is served through
        the app."""
        return None

    @abc.abstractmethod
    def close(self) -> None:
        """Let go of the file; later calls do nothing."""
