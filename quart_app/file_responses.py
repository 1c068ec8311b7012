"""Stored files sent as attachments: validators, conditional and range requests (RFC 9110 §13-14).

The response is built from a file opened before anything else was decided, so a delete racing
the download cannot cut its body short.
"""

from __future__ import annotations

import re
import secrets
import sys
import unicodedata
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Final
from urllib.parse import quote

from quart import Response, current_app, request
from quart.wrappers.response import ResponseBody
from werkzeug.datastructures import ETags
from werkzeug.exceptions import PreconditionFailed, RequestedRangeNotSatisfiable
from werkzeug.http import dump_options_header, http_date, parse_date, parse_etags

from .upload_engine import OpenedFile, StoredFile

MAX_RANGES: Final = 16
# Quart gives a whole response RESPONSE_TIMEOUT seconds (60): a large file needs longer on a
# slow link. A download may take as long as it would at this rate, never less than that.
_SLOWEST_DOWNLOAD_BYTES_PER_SECOND: Final = 64 * 1024

_RANGE_SPEC: Final = re.compile(r"(\d*)-(\d*)", re.ASCII)
_EDGE_DOTS_AND_SPACES: Final = re.compile(r"^[\s.]+|[\s.]+$")
# Control and format characters (bidi overrides among them), lone surrogates, line breaks.
_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_FALLBACK_TYPE: Final = "application/octet-stream"

# First and last byte positions, both included, as in Content-Range.
_Span = tuple[int, int]
# Literal bytes of a multipart body, or a span of the file.
_Piece = bytes | _Span


@dataclass(frozen=True, slots=True)
class _Validators:
    etag: str | None
    last_modified: datetime

    @classmethod
    def of(cls, stored: StoredFile) -> _Validators:
        # HTTP dates count whole seconds; truncating lets a client's echo of the date match.
        created = datetime.fromtimestamp(int(stored.created), UTC)
        return cls(stored.sha256 or None, created)

    def headers(self) -> dict[str, str]:
        headers = {"Last-Modified": http_date(self.last_modified)}
        if self.etag:
            headers["ETag"] = f'"{self.etag}"'
        return headers

    def matched_by(self, etags: ETags, *, weak: bool) -> bool:
        if etags.star_tag:
            return True
        if self.etag is None:
            return False
        return etags.contains_weak(self.etag) if weak else etags.contains(self.etag)


def attachment_response(opened: OpenedFile) -> Response:
    """Answer GET or HEAD with ``opened`` as an attachment; the response owns its descriptor."""
    try:
        return _attachment_response(opened)
    except BaseException:
        opened.close()
        raise


def _attachment_response(opened: OpenedFile) -> Response:
    stored, size = opened.stored, opened.size
    validators = _Validators.of(stored)
    headers = {
        **validators.headers(),
        # The files are private and may be deleted: revalidate every time, never share.
        "Cache-Control": "private, no-cache",
    }
    if (status := _failed_precondition(validators)) == 304:
        opened.close()
        not_modified = Response(status=304, headers=headers)
        not_modified.headers.pop("Content-Type", None)
        return not_modified
    if status == 412:
        raise PreconditionFailed("The stored file does not match the request's preconditions.")

    spans = _requested_spans(size, validators)
    if spans == []:
        raise RequestedRangeNotSatisfiable(length=size)
    media_type = _media_type(stored.content_type)
    headers.update(
        {
            "Accept-Ranges": "bytes",
            "Content-Disposition": disposition(stored),
            "X-Content-Type-Options": "nosniff",
        }
    )
    pieces: list[_Piece]
    if spans is None:
        status, pieces = 200, [(0, size - 1)] if size else []
        headers["Content-Type"] = media_type
    elif len(spans) == 1:
        [(first, last)] = spans
        status, pieces = 206, [(first, last)]
        headers["Content-Type"] = media_type
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    else:
        boundary = secrets.token_hex(16)
        status, pieces = 206, _byteranges(spans, size, media_type, boundary)
        headers["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
    length = sum(_piece_length(piece) for piece in pieces)

    if request.method == "HEAD":
        opened.close()
        response = Response(b"", status=status, headers=headers)
    else:
        response = Response(_FileBody(opened, pieces), status=status, headers=headers)
        response.timeout = max(
            float(current_app.config["RESPONSE_TIMEOUT"]),
            length / _SLOWEST_DOWNLOAD_BYTES_PER_SECOND,
        )
    response.headers["Content-Length"] = str(length)
    return response


def _failed_precondition(validators: _Validators) -> int | None:
    """RFC 9110 §13.2.2 for GET and HEAD: 412, 304, or None to go on."""
    headers = request.headers
    if "If-Match" in headers:
        if not validators.matched_by(parse_etags(headers["If-Match"]), weak=False):
            return 412
    elif (date := parse_date(headers.get("If-Unmodified-Since"))) and (
        validators.last_modified > date
    ):
        return 412
    if "If-None-Match" in headers:
        if validators.matched_by(parse_etags(headers["If-None-Match"]), weak=True):
            return 304
    elif (date := parse_date(headers.get("If-Modified-Since"))) and (
        validators.last_modified <= date
    ):
        return 304
    return None


def _requested_spans(size: int, validators: _Validators) -> list[_Span] | None:
    """The ranges to send: ``None`` for the whole file, ``[]`` if none can be satisfied."""
    header = request.headers.get("Range")
    # RFC 9110 §14.2: ranges are defined for GET only, and may be ignored for an empty file,
    # whose one satisfiable form (a suffix range) has no Content-Range that could describe it.
    if header is None or request.method != "GET" or size == 0:
        return None
    if not _if_range_holds(validators):
        return None
    specs = _parse_byte_ranges(header)
    if specs is None:
        return None
    spans = _coalesce([span for spec in specs if (span := _resolve(spec, size))])
    # Many small ranges cost more to send than the file; RFC 9110 §14.2 allows ignoring them.
    return None if len(spans) > MAX_RANGES else spans


def _if_range_holds(validators: _Validators) -> bool:
    """RFC 9110 §13.1.5: a strong ETag or the exact Last-Modified date."""
    value = request.headers.get("If-Range")
    if value is None:
        return True
    if (date := parse_date(value)) is not None:
        return date == validators.last_modified
    return validators.etag is not None and value.strip() == f'"{validators.etag}"'


def _parse_byte_ranges(header: str) -> list[tuple[int | None, int | None]] | None:
    """The ``(first, last)`` positions of a ``bytes=`` Range header; ``None`` if invalid."""
    unit, equals, range_set = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    specs: list[tuple[int | None, int | None]] = []
    for item in range_set.split(","):
        if not (item := item.strip(" \t")):
            continue
        match = _RANGE_SPEC.fullmatch(item)
        if match is None or match.group() == "-":
            return None
        first, last = (_position(digits) if digits else None for digits in match.groups())
        if first is not None and last is not None and last < first:
            return None
        specs.append((first, last))
    return specs or None


def _position(digits: str) -> int:
    significant = digits.lstrip("0")
    # int() refuses thousands of digits; a position this long is past the end of any file.
    return int(significant or "0") if len(significant) <= 18 else sys.maxsize


def _resolve(spec: tuple[int | None, int | None], size: int) -> _Span | None:
    first, last = spec
    if first is None:
        suffix = last or 0
        return (max(size - suffix, 0), size - 1) if suffix else None
    if first >= size:
        return None
    return (first, size - 1 if last is None else min(last, size - 1))


def _coalesce(spans: list[_Span]) -> list[_Span]:
    """Merge overlapping and adjacent spans, keeping the order they were asked for in."""
    merged: list[tuple[int, int, int]] = []
    for order, (first, last) in sorted(enumerate(spans), key=lambda item: item[1]):
        if merged and first <= merged[-1][1] + 1:
            start, end, earliest = merged[-1]
            merged[-1] = (start, max(end, last), min(earliest, order))
        else:
            merged.append((first, last, order))
    return [(first, last) for first, last, _ in sorted(merged, key=lambda item: item[2])]


def _byteranges(spans: Sequence[_Span], size: int, media_type: str, boundary: str) -> list[_Piece]:
    """A multipart/byteranges body: part headers as bytes, file content as spans."""
    pieces: list[_Piece] = []
    for index, (first, last) in enumerate(spans):
        head = (
            f"--{boundary}\r\n"
            f"Content-Type: {media_type}\r\n"
            f"Content-Range: bytes {first}-{last}/{size}\r\n\r\n"
        )
        pieces += [(b"\r\n" if index else b"") + head.encode("ascii"), (first, last)]
    pieces.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return pieces


def _piece_length(piece: _Piece) -> int:
    return len(piece) if isinstance(piece, bytes) else piece[1] - piece[0] + 1


def _media_type(content_type: str) -> str:
    # The uploader chose it: anything unfit for a header line is replaced.
    if content_type.isascii() and content_type.isprintable() and "/" in content_type:
        return content_type
    return _FALLBACK_TYPE


def download_name(original_name: str, *, fallback: str) -> str:
    """``original_name`` reduced to a safe base name, or ``fallback`` if nothing is left."""
    normalised = unicodedata.normalize("NFKC", original_name)
    visible = "".join(
        char for char in normalised if unicodedata.category(char) not in _INVISIBLE_CATEGORIES
    )
    base = re.split(r"[/\\]", visible)[-1]
    return _EDGE_DOTS_AND_SPACES.sub("", base) or fallback


def direct_download(url: str) -> Response:
    """Send the client to fetch the file from ``url`` itself (a presigned link: short-lived,
    so neither kept nor shared)."""
    response = Response(b"", status=307, headers={"Location": url})
    response.headers["Cache-Control"] = "private, no-store"
    del response.headers["Content-Type"]
    return response


def disposition(stored: StoredFile) -> str:
    """RFC 6266 ``attachment``: a plain ASCII filename, plus UTF-8 ``filename*`` when needed."""
    name = download_name(stored.original_name, fallback=stored.name)
    plain = download_name(_ascii_approximation(name), fallback=stored.name)
    parameters = {"filename": plain}
    if plain != name:
        parameters["filename*"] = "UTF-8''" + quote(name, safe="")
    return dump_options_header("attachment", parameters)


def _ascii_approximation(name: str) -> str:
    return "".join(
        char if char.isascii() else "" if unicodedata.combining(char) else "_"
        for char in unicodedata.normalize("NFKD", name)
    )


class _FileBody(ResponseBody):
    """Pieces of an opened file, read by the store a chunk at a time; closes it at the end."""

    def __init__(self, opened: OpenedFile, pieces: Sequence[_Piece]) -> None:
        self._opened = opened
        self._pieces = pieces
        self._stream: AsyncGenerator[bytes, None] | None = None

    async def __aenter__(self) -> _FileBody:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._stream is not None:
                await self._stream.aclose()
        finally:
            self._opened.close()

    def __aiter__(self) -> AsyncGenerator[bytes, None]:
        self._stream = self._read()
        return self._stream

    async def _read(self) -> AsyncGenerator[bytes, None]:
        for piece in self._pieces:
            if isinstance(piece, bytes):
                yield piece
                continue
            first, last = piece
            async for chunk in self._opened.chunks(first, last):
                yield chunk
