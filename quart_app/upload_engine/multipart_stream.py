"""Incremental multipart/form-data parsing into part events, fed one chunk at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto
from typing import Final

from werkzeug.http import parse_options_header

from .errors import MalformedUploadError, UnsupportedUploadTypeError, UploadTooLargeError

_MAX_BOUNDARY_LENGTH: Final = 70  # RFC 2046
_CRLF: Final = b"\r\n"
_CR: Final = ord("\r")
_LF: Final = ord("\n")
_DASH: Final = ord("-")
_BLANK_LINE: Final = b"\r\n\r\n"
_DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
_TOKEN: Final = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED_STRING: Final = rb'"(?:[\t !#-\[\]-~]|\\[\t -~])*"'
_PARAMETER: Final = _TOKEN + rb"=(?:" + _TOKEN + rb"|" + _QUOTED_STRING + rb")"
# RFC 9110 media-type, ASCII only: the value is sent back verbatim on every download. Each
# run of spaces has one place to go, so that a long bad value cannot make the match backtrack.
_MEDIA_TYPE: Final = re.compile(
    _TOKEN + rb"/" + _TOKEN + rb"(?:[ \t]*+;(?:[ \t]*+" + _PARAMETER + rb")?)*+"
)
_HEADER_NAME: Final = re.compile(_TOKEN)
_CONTROL_CHARACTER: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_NOT_PADDING: Final = re.compile(rb"[^ \t]")
_MALFORMED: Final = "The multipart body is malformed."


@dataclass(frozen=True, slots=True)
class PartStart:
    """A new part begins; ``filename`` is ``None`` for plain fields."""

    name: str
    filename: str | None
    content_type: str


@dataclass(frozen=True, slots=True)
class PartData:
    """A slice of the current part's content: a view of the fed chunk (or of the bytes held
    back from the one before), valid for as long as it is kept."""

    data: memoryview


@dataclass(frozen=True, slots=True)
class PartEnd:
    """The current part is complete."""


PartEvent = PartStart | PartData | PartEnd
_PART_END: Final = PartEnd()


def multipart_boundary(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type, or raise 415/400."""
    media_type, options = parse_options_header(content_type or "")
    if media_type.lower() != "multipart/form-data":
        raise UnsupportedUploadTypeError("Uploads must be sent as multipart/form-data.")
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > _MAX_BOUNDARY_LENGTH:
        raise MalformedUploadError("The multipart boundary is missing or invalid.")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedUploadError("The multipart boundary is not ASCII.") from None


class _State(Enum):
    PREAMBLE = auto()
    DATA = auto()
    AFTER_BOUNDARY = auto()
    CLOSING = auto()
    PADDING = auto()
    LINE_FEED = auto()
    HEADERS = auto()
    DONE = auto()


class MultipartStream:
    """Turns multipart/form-data bytes into ``PartEvent``s without buffering part content."""

    def __init__(self, boundary: bytes, *, max_header_size: int) -> None:
        self._delimiter = b"\r\n--" + boundary
        self._max_header_size = max_header_size
        # What RFC 2046 lets a body carry around its parts (preamble, transport padding,
        # epilogue) is ignored, and bounded by the header limit, so that a body's size
        # bounds its file content from below (see UploadLimits.largest_envelope).
        self._ignored_room = max_header_size
        self._state = _State.PREAMBLE
        self._held: bytes
        self._unreceived: int
        self._hold_line_break()
        self._header_block = bytearray()

    @property
    def complete(self) -> bool:
        """Whether the closing boundary has been seen."""
        return self._state is _State.DONE

    def feed(self, chunk: bytes) -> list[PartEvent]:
        """Parse the next chunk and return the events it completes."""
        events: list[PartEvent] = []
        view = memoryview(chunk)
        position = 0
        if self._state is _State.DONE:
            self._ignore(len(chunk))
        while position < len(chunk) and self._state is not _State.DONE:
            if self._state is _State.DATA or self._state is _State.PREAMBLE:
                position = self._scan(chunk, view, position, events)
            elif self._state is _State.HEADERS:
                position = self._read_headers(chunk, position, events)
            else:
                position = self._read_delimiter_line(chunk, position)
        return events

    def close(self) -> None:
        """Declare the end of input; raise 400 if the message was cut short."""
        if self._state is not _State.DONE:
            raise MalformedUploadError("The multipart body ended before its closing boundary.")

    def _hold_line_break(self) -> None:
        # The body's start, and the blank line ending a part's headers, stand for the line
        # break a delimiter begins with: "--boundary" there needs no CRLF of its own. That is
        # how Werkzeug's test-client encoder writes an empty part.
        self._held = _CRLF
        self._unreceived = len(_CRLF)

    def _scan(self, chunk: bytes, view: memoryview, position: int, events: list[PartEvent]) -> int:
        """Pass content on (or skip the preamble) up to the next delimiter."""
        if self._held:
            state = self._state
            position = self._resolve_held(chunk, position, events)
            if position == len(chunk) or self._state is not state:
                return position
        found = chunk.find(self._delimiter, position)
        if found == -1:
            kept = len(chunk) - _partial_match_start(chunk, self._delimiter, position)
            self._emit(view[position : len(chunk) - kept], events)
            self._held = chunk[len(chunk) - kept :]
            return len(chunk)
        self._emit(view[position:found], events)
        return self._delimiter_found(chunk, found + len(self._delimiter), events)

    def _resolve_held(self, chunk: bytes, position: int, events: list[PartEvent]) -> int:
        """Decide whether the bytes held back by the last feed start a delimiter."""
        held = self._held
        # Enough of the chunk to complete any delimiter that starts in the held bytes.
        needed = len(self._delimiter) - 1
        joint = held + chunk[position : position + needed]
        found = joint.find(self._delimiter)
        if 0 <= found < len(held):
            self._emit_held(found, events)
            return self._delimiter_found(
                chunk, position + found + len(self._delimiter) - len(held), events
            )
        if len(chunk) - position < needed:
            start = _partial_match_start(joint, self._delimiter, 0)
            if start < len(held):
                # Too short to tell: go on holding what may still start a delimiter.
                self._emit_held(start, events)
                self._held = joint[start:]
                self._unreceived = max(self._unreceived - start, 0)
                return len(chunk)
        self._emit_held(len(held), events)
        self._held = b""
        self._unreceived = 0
        return position

    def _emit_held(self, end: int, events: list[PartEvent]) -> None:
        if end > self._unreceived:
            self._emit(memoryview(self._held[self._unreceived : end]), events)

    def _emit(self, data: memoryview, events: list[PartEvent]) -> None:
        if data and self._state is _State.DATA:
            events.append(PartData(data))
        elif self._state is _State.PREAMBLE:
            self._ignore(len(data))

    def _ignore(self, count: int) -> None:
        self._ignored_room -= count
        if self._ignored_room < 0:
            raise UploadTooLargeError("The body has too much text outside its parts.")

    def _delimiter_found(self, chunk: bytes, end: int, events: list[PartEvent]) -> int:
        """End the current part at a delimiter ending at ``chunk[end]``; return where to go on."""
        if self._state is _State.DATA:
            events.append(_PART_END)
        self._held = b""
        self._unreceived = 0
        # The usual delimiter lines, whole in this chunk, need no trip through the states.
        if chunk.startswith(_CRLF, end):
            self._state = _State.HEADERS
            return end + len(_CRLF)
        if chunk.startswith(b"--", end):
            self._state = _State.DONE
            self._ignore(len(chunk) - end - 2)
            return end + 2
        self._state = _State.AFTER_BOUNDARY
        return end

    def _read_delimiter_line(self, chunk: bytes, position: int) -> int:
        """Consume the rest of a delimiter line: "--" to close, or padding and CRLF."""
        state = self._state
        byte = chunk[position]
        if state is _State.AFTER_BOUNDARY:
            if byte == _DASH:
                self._state = _State.CLOSING
                return position + 1
            self._state = _State.PADDING
            return position
        if state is _State.CLOSING:
            if byte != _DASH:
                raise MalformedUploadError(_MALFORMED)
            self._state = _State.DONE
            self._ignore(len(chunk) - position - 1)
            return position + 1
        if state is _State.PADDING:
            after_padding = _NOT_PADDING.search(chunk, position)
            if after_padding is None:
                self._ignore(len(chunk) - position)
                return len(chunk)
            end = after_padding.start()
            self._ignore(end - position)
            if chunk[end] != _CR:
                raise MalformedUploadError(_MALFORMED)
            self._state = _State.LINE_FEED
            return end + 1
        if byte != _LF:
            raise MalformedUploadError(_MALFORMED)
        self._state = _State.HEADERS
        return position + 1

    def _read_headers(self, chunk: bytes, position: int, events: list[PartEvent]) -> int:
        """Collect a part's header block, at most ``max_header_size`` bytes of header lines."""
        limit = self._max_header_size
        block = self._header_block
        if not block:
            if chunk.startswith(_CRLF, position):
                return self._start_part(b"", position + len(_CRLF), events)
            end = chunk.find(_BLANK_LINE, position, position + limit + 2)
            if end != -1:
                return self._start_part(chunk[position : end + 2], end + 4, events)
            if len(chunk) - position >= limit + 2:
                raise UploadTooLargeError("A part's headers are too large.")
            # The block starts with the delimiter line's CRLF so that a blank first line ends it.
            block += _CRLF
        before = len(block)
        block += chunk[position : position + limit + 4 - before]
        end = block.find(_BLANK_LINE, max(before - 3, 0))
        if end == -1:
            if len(block) >= limit + 4:
                raise UploadTooLargeError("A part's headers are too large.")
            return len(chunk)
        lines = bytes(block[2 : end + 2])
        block.clear()
        return self._start_part(lines, position + end + 4 - before, events)

    def _start_part(self, lines: bytes, position: int, events: list[PartEvent]) -> int:
        events.append(_part_start(lines))
        self._state = _State.DATA
        self._hold_line_break()
        return position


def _part_start(lines: bytes) -> PartStart:
    """The part described by a header block (CRLF-terminated lines)."""
    disposition: bytes | None = None
    content_type = b""
    for line in lines.split(_CRLF)[:-1]:
        field, colon, value = line.partition(b":")
        if not colon or not _HEADER_NAME.fullmatch(field):
            raise MalformedUploadError(_MALFORMED)
        field = field.lower()
        if field == b"content-disposition":
            disposition = value
        elif field == b"content-type":
            content_type = value.strip(b" \t")
    if disposition is not None and _CONTROL_CHARACTER.search(disposition):
        raise MalformedUploadError("A part's Content-Disposition contains control characters.")
    kind, options = parse_options_header(
        disposition.strip(b" \t").decode("utf-8", "replace") if disposition else None
    )
    name = options.get("name")
    if kind.lower() != "form-data" or name is None:
        raise MalformedUploadError("A part lacks a form-data Content-Disposition with a name.")
    media_type = (
        content_type.decode("ascii")
        if _MEDIA_TYPE.fullmatch(content_type)
        else _DEFAULT_CONTENT_TYPE
    )
    return PartStart(name, options.get("filename"), media_type)


def _partial_match_start(data: bytes, pattern: bytes, start: int) -> int:
    """Where the longest tail of ``data[start:]`` that ``pattern`` begins with starts.

    ``len(data)`` when there is none; a whole ``pattern`` does not count.
    """
    first = pattern[:1]
    candidate = data.find(first, max(len(data) - len(pattern) + 1, start))
    while candidate != -1:
        if pattern.startswith(data[candidate:]):
            return candidate
        candidate = data.find(first, candidate + 1)
    return len(data)
