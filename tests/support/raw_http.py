"""HTTP/1.1 spoken by hand over a socket: for bodies sent slowly, cut short or never finished."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .multipart_bodies import Part, encode

BOUNDARY = "server-test-boundary"
WAIT_SECONDS = 20.0


def multipart(*files: tuple[str, bytes], fields: dict[str, str] | None = None) -> bytes:
    """A multipart/form-data body: the plain fields first, then files in `wordlist-upload`."""
    parts = [Part(name, value.encode()) for name, value in (fields or {}).items()]
    parts += [
        Part("wordlist-upload", content, filename, "application/octet-stream")
        for filename, content in files
    ]
    return encode(parts, BOUNDARY)


def request_head(
    port: int, *, length: int | None, extra: str = "", api_key: str | None = None
) -> bytes:
    """The head of a multipart POST /upload; chunked when `length` is None."""
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    key = f"X-API-Key: {api_key}\r\n" if api_key else ""
    return (
        f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{key}"
        f"Accept: application/json\r\n{extra}"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{framing}\r\n\r\n"
    ).encode()


@dataclass(frozen=True)
class RawResponse:
    """A response read off the socket: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON ({} if empty)."""
        return json.loads(self.body) if self.body else {}


async def read_raw_response(reader: asyncio.StreamReader, *, to_head: bool = False) -> RawResponse:
    """Read one response with a Content-Length body (or none; never one ``to_head`` a HEAD
    request, whatever Content-Length says)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT_SECONDS)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = 0 if to_head else int(headers.get("content-length", 0))
    body = await asyncio.wait_for(reader.readexactly(length), WAIT_SECONDS)
    return RawResponse(status, headers, body)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
    """Read one JSON response: its status and parsed body."""
    response = await read_raw_response(reader)
    return response.status, response.json()


async def eventually(condition: Callable[[], object], what: str) -> None:
    """Wait (boundedly) for the server to reach a state; not a timing assertion."""
    for _ in range(int(WAIT_SECONDS / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")
