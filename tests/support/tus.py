"""Speaking tus 1.0.0 in tests: headers, metadata and the store's hidden folder."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from .app_settings import API_KEY

TUS = {"Tus-Resumable": "1.0.0"}
TUS_AUTH = {**TUS, "X-API-Key": API_KEY}
OCTETS = "application/offset+octet-stream"


def metadata(**values: str) -> str:
    """An Upload-Metadata value for ``values``."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
    )


def creation(length: int | None, **values: str) -> dict[str, str]:
    """Headers that create an upload of ``length`` bytes (deferred if ``None``)."""
    sized = {"Upload-Defer-Length": "1"} if length is None else {"Upload-Length": str(length)}
    return {**TUS_AUTH, **sized, "Upload-Metadata": metadata(**values)}


def chunk(offset: int, **extra: str) -> dict[str, str]:
    """Headers of a PATCH at ``offset``."""
    return {**TUS_AUTH, "Upload-Offset": str(offset), "Content-Type": OCTETS, **extra}


def checksum(algorithm: str, data: bytes) -> str:
    """An Upload-Checksum value for ``data``."""
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def upload_id(location: str) -> str:
    """The upload id at the end of a Location."""
    return location.rstrip("/").rpartition("/")[2]


def tus_files(uploads: Path) -> list[str]:
    """What the resumable uploads hold on disk."""
    return sorted(path.name for path in (uploads / ".tus").iterdir())
