"""Incremental multipart/form-data parsing into part events, fed one chunk at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState
from werkzeug.http import parse_options_header

from .errors import MalformedUploadError, UnsupportedUploadTypeError, UploadTooLargeError

_MAX_BOUNDARY_LENGTH: Final = 70  # RFC 2046
_IN_HEADER_VALUE: Final = frozenset(
    {MultipartState.HEADER_VALUE_START, MultipartState.HEADER_VALUE}
)


@dataclass(frozen=True, slots=True)
class PartStart:
    """A new part begins; ``filename`` is ``None`` for plain fields."""

    name: str
    filename: str | None
    content_type: str


@dataclass(frozen=True, slots=True)
class PartData:
    """A slice of the current part's content; only valid until the next ``feed``."""

    data: memoryview


@dataclass(frozen=True, slots=True)
class PartEnd:
    """The current part is complete."""


PartEvent = PartStart | PartData | PartEnd
_PART_END: Final = PartEnd()


def multipart_boundary(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type, or raise 415/400."""
    media_type, options = parse_options_header(content_type or "")
    if media_type != "multipart/form-data":
        raise UnsupportedUploadTypeError("Uploads must be sent as multipart/form-data.")
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > _MAX_BOUNDARY_LENGTH:
        raise MalformedUploadError("The multipart boundary is missing or invalid.")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedUploadError("The multipart boundary is not ASCII.") from None


class MultipartStream:
    """Turns multipart/form-data bytes into ``PartEvent``s without buffering part content."""

    def __init__(self, boundary: bytes, *, max_header_size: int) -> None:
        self._max_header_size = max_header_size
        # Werkzeug's test-client encoder (used by Flask's and Quart's test clients) ends an
        # empty part's headers with the delimiter itself: "...\r\n\r\n--boundary". RFC 2046
        # wants one more line break; it is added when the parser is inside a header value.
        self._empty_part = b"\r\n\r\n--" + boundary
        self._held = b""
        self._events: list[PartEvent] = []
        self._chunk = b""
        self._view = memoryview(b"")
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._header_bytes = 0
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
            max_header_size=max_header_size,
        )

    @property
    def complete(self) -> bool:
        """Whether the closing boundary has been seen."""
        return self._ended

    def feed(self, chunk: bytes) -> list[PartEvent]:
        """Parse the next chunk and return the events it completes."""
        self._events = []
        if self._ended or not chunk:
            return self._events
        data = self._held + chunk if self._held else chunk
        kept = len(data) - _partial_match_length(data, self._empty_part)
        data, self._held = data[:kept], data[kept:]
        position = 0
        while (found := data.find(self._empty_part, position)) != -1:
            self._write(data[position:found])
            in_header_value = self._parser.state in _IN_HEADER_VALUE
            self._write(b"\r\n\r\n\r\n" if in_header_value else b"\r\n\r\n")
            position = found + 4
        self._write(data[position:] if position else data)
        return self._events

    def _write(self, data: bytes) -> None:
        self._chunk = data
        self._view = memoryview(data)
        try:
            self._parser.write(data)
        except MultipartParseError as error:
            if str(error).startswith("Maximum header"):
                raise UploadTooLargeError("A part's headers are too large.") from None
            raise MalformedUploadError("The multipart body is malformed.") from None
        finally:
            self._chunk = b""
            self._view = memoryview(b"")

    def close(self) -> None:
        """Declare the end of input; raise 400 if the message was cut short."""
        if not self._ended:
            raise MalformedUploadError("The multipart body ended before its closing boundary.")

    def _on_part_begin(self) -> None:
        self._headers = {}
        self._header_bytes = 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._header_value += data[start:end]

    def _count_header_bytes(self, count: int) -> None:
        # The parser bounds each header line; this bounds a part's header block as a whole.
        self._header_bytes += count
        if self._header_bytes > self._max_header_size:
            raise UploadTooLargeError("A part's headers are too large.")

    def _on_header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("utf-8", "replace").strip()
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get("content-disposition"))
        name = options.get("name")
        if disposition != "form-data" or name is None:
            raise MalformedUploadError("A part lacks a form-data Content-Disposition with a name.")
        content_type = self._headers.get("content-type") or "application/octet-stream"
        self._events.append(PartStart(name, options.get("filename"), content_type))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if start == end:
            return
        # Slices of the fed chunk stay zero-copy; the parser's own look-behind bytes do not.
        view = self._view[start:end] if data is self._chunk else memoryview(data[start:end])
        self._events.append(PartData(view))

    def _on_part_end(self) -> None:
        self._events.append(_PART_END)

    def _on_end(self) -> None:
        self._ended = True


def _partial_match_length(data: bytes, pattern: bytes) -> int:
    """Length of the longest tail of ``data`` that ``pattern`` starts with (whole excluded)."""
    start = data.find(pattern[:1], max(len(data) - len(pattern) + 1, 0))
    while start != -1:
        if pattern.startswith(data[start:]):
            return len(data) - start
        start = data.find(pattern[:1], start + 1)
    return 0
