"""Building multipart/form-data bodies for the engine's tests."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

BOUNDARY = "engine-test-boundary-1234"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


@dataclass(frozen=True)
class Part:
    """One part of a test body: a plain field when ``filename`` is None."""

    name: str
    content: bytes
    filename: str | None = None
    content_type: str | None = None


def encode(
    parts: list[Part],
    boundary: str = BOUNDARY,
    *,
    preamble: bytes | None = None,
    padding: bytes = b"",
    epilogue: bytes = b"",
) -> bytes:
    """The multipart body for ``parts``; CRLF-terminated, with preamble and epilogue if given.

    ``padding`` (spaces and tabs) follows every delimiter, the closing one included.
    """
    body = bytearray() if preamble is None else bytearray(preamble + b"\r\n")
    for part in parts:
        disposition = f'form-data; name="{part.name}"'
        if part.filename is not None:
            disposition += f'; filename="{part.filename}"'
        body += f"--{boundary}".encode() + padding
        body += f"\r\nContent-Disposition: {disposition}\r\n".encode()
        if part.content_type is not None:
            body += f"Content-Type: {part.content_type}\r\n".encode()
        body += b"\r\n" + part.content + b"\r\n"
    body += f"--{boundary}--".encode() + padding + b"\r\n" + epilogue
    return bytes(body)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (in any order, duplicates allowed)."""
    points = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in pairwise(points) if b > a]
