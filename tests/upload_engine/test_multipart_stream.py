from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers
from werkzeug.sansio.multipart import (
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
    MultipartEncoder,
    NeedData,
    Preamble,
)

from quart_app.upload_engine import MalformedUploadError, UploadTooLargeError
from quart_app.upload_engine.errors import UnsupportedUploadTypeError
from quart_app.upload_engine.multipart_stream import (
    MultipartStream,
    PartData,
    PartStart,
    multipart_boundary,
)

from .multipart_bodies import BOUNDARY, CONTENT_TYPE, Part, encode, split_at

Parsed = list[tuple[str, str | None, bytes]]


def parse(chunks: list[bytes], boundary: str = BOUNDARY) -> Parsed:
    """Feed ``chunks`` one by one and rebuild (name, filename, content) for each part."""
    stream = MultipartStream(boundary.encode(), max_header_size=8192)
    parts: Parsed = []
    content = bytearray()
    for chunk in chunks:
        for event in stream.feed(chunk):
            if isinstance(event, PartStart):
                parts.append((event.name, event.filename, b""))
                content.clear()
            elif isinstance(event, PartData):
                content += event.data
            else:
                name, filename, _ = parts[-1]
                parts[-1] = (name, filename, bytes(content))
    stream.close()
    return parts


def expected(parts: list[Part]) -> Parsed:
    return [(part.name, part.filename, part.content) for part in parts]


def werkzeug_parse(body: bytes) -> Parsed:
    """An independent reference: Werkzeug's sans-IO decoder fed the whole body."""
    decoder = MultipartDecoder(BOUNDARY.encode(), max_form_memory_size=None)
    decoder.receive_data(body)
    decoder.receive_data(None)
    parts: Parsed = []
    while not isinstance(event := decoder.next_event(), Epilogue | NeedData):
        if isinstance(event, File):
            parts.append((event.name, event.filename, b""))
        elif isinstance(event, Field):
            parts.append((event.name, None, b""))
        elif isinstance(event, Data):
            name, filename, content = parts[-1]
            parts[-1] = (name, filename, content + event.data)
    return parts


TRICKY = b"\r\n--" + BOUNDARY.encode()[:-1] + b"\r\n\r\n--\r\n-" + b"\r" * 3 + bytes(range(256))
TRICKY_PARTS = [
    Part("note", b"hello\r\nworld"),
    Part("wordlist-upload", TRICKY, "a.bin", "application/octet-stream"),
    Part("empty", b"", "empty.txt", "text/plain"),
    Part("crlf", b"\r\n" * 7, "crlf.txt"),
]


def test_parts_split_at_every_offset_parse_the_same() -> None:
    body = encode(TRICKY_PARTS)
    for cut in range(1, len(body)):
        assert parse(split_at(body, [cut])) == expected(TRICKY_PARTS), cut


def test_body_fed_one_byte_at_a_time_parses() -> None:
    body = encode(TRICKY_PARTS)
    assert parse([body[i : i + 1] for i in range(len(body))]) == expected(TRICKY_PARTS)


def werkzeug_encode(parts: list[Part]) -> bytes:
    """The body Werkzeug's test-client encoder writes: no line break ends an empty part."""
    encoder = MultipartEncoder(BOUNDARY.encode())
    body = encoder.send_event(Preamble(data=b""))
    for part in parts:
        if part.filename is None:
            body += encoder.send_event(Field(name=part.name, headers=Headers()))
        else:
            body += encoder.send_event(
                File(name=part.name, filename=part.filename, headers=Headers())
            )
        body += encoder.send_event(Data(data=part.content, more_data=False))
    return body + encoder.send_event(Epilogue(data=b""))


def test_werkzeug_test_client_bodies_with_empty_parts_parse_at_every_split() -> None:
    parts = [
        Part("empty", b"", "empty.txt"),
        Part("note", b""),
        Part("ends-with-crlf", b"line\r\n", "a.txt"),
        Part("crlf-only", b"\r\n", "b.txt"),
        Part("last-empty", b"", "c.txt"),
    ]
    body = werkzeug_encode(parts)
    assert b"\r\n\r\n--" + BOUNDARY.encode() in body
    for cut in range(1, len(body)):
        assert parse(split_at(body, [cut])) == expected(parts), cut


def test_file_part_reports_filename_and_type() -> None:
    stream = MultipartStream(BOUNDARY.encode(), max_header_size=8192)
    [start, *_] = stream.feed(encode([Part("f", b"x", "ü name.txt", "text/csv")]))
    assert start == PartStart("f", "ü name.txt", "text/csv")


def test_part_without_type_defaults_to_octet_stream() -> None:
    stream = MultipartStream(BOUNDARY.encode(), max_header_size=8192)
    [start, *_] = stream.feed(encode([Part("f", b"x", "a")]))
    assert isinstance(start, PartStart) and start.content_type == "application/octet-stream"


def test_many_parts_parse() -> None:
    parts = [Part(f"f{i}", bytes([i % 256]) * (i % 7), f"{i}.bin") for i in range(1000)]
    body = encode(parts)
    assert parse(split_at(body, list(range(0, len(body), 4093)))) == expected(parts)


def test_truncated_body_is_malformed() -> None:
    body = encode(TRICKY_PARTS)
    with pytest.raises(MalformedUploadError):
        parse([body[:-10]])


def test_garbage_is_malformed() -> None:
    with pytest.raises(MalformedUploadError):
        parse([b"this is not multipart at all\r\n"])


def test_part_without_disposition_is_malformed() -> None:
    body = f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(MalformedUploadError):
        parse([body])


def test_huge_part_headers_are_too_large() -> None:
    header = "X-Padding: " + "a" * 10_000
    body = f"--{BOUNDARY}\r\n{header}\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(UploadTooLargeError):
        parse([body])


def test_many_small_headers_add_up_to_too_large() -> None:
    headers = "".join(f"X-{i}: {'b' * 500}\r\n" for i in range(20))
    body = f"--{BOUNDARY}\r\n{headers}\r\nx\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(UploadTooLargeError):
        parse([body])


def test_boundary_comes_from_the_content_type() -> None:
    assert multipart_boundary(CONTENT_TYPE) == BOUNDARY.encode()
    assert multipart_boundary('multipart/form-data; boundary="a b"') == b"a b"


@pytest.mark.parametrize("content_type", [None, "", "application/json", "text/plain"])
def test_other_content_types_are_unsupported(content_type: str | None) -> None:
    with pytest.raises(UnsupportedUploadTypeError):
        multipart_boundary(content_type)


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=" + "x" * 71]
)
def test_missing_or_overlong_boundary_is_malformed(content_type: str) -> None:
    with pytest.raises(MalformedUploadError):
        multipart_boundary(content_type)


# Content drawn to hit the parser's hard cases: CR, LF, dashes and boundary prefixes.
_tricky_bytes = st.lists(
    st.sampled_from([b"\r", b"\n", b"-", b"--", b"\r\n--", BOUNDARY.encode()[:5], b"a", b"\x00"])
    | st.binary(max_size=8),
    max_size=40,
).map(b"".join)
_names = st.text("abcdefghijklmnopqrstuvwxyz_-0123456789", min_size=1, max_size=12)
_parts = st.lists(
    st.builds(
        Part,
        name=_names,
        content=_tricky_bytes | st.binary(max_size=300),
        filename=st.none() | _names.map(lambda n: n + ".bin"),
        content_type=st.none() | st.just("application/octet-stream"),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=_parts, cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_any_body_split_anywhere_matches_the_reference_parse(
    parts: list[Part], cuts: list[int]
) -> None:
    body = encode(parts)
    chunks = split_at(body, [cut % len(body) for cut in cuts])
    assert parse(chunks) == expected(parts) == werkzeug_parse(body)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=_parts, cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_werkzeug_encoded_body_split_anywhere_parses(parts: list[Part], cuts: list[int]) -> None:
    body = werkzeug_encode(parts)
    assert parse(split_at(body, [cut % len(body) for cut in cuts])) == expected(parts)
