from __future__ import annotations

import time

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
    PartEnd,
    PartStart,
    multipart_boundary,
)

from ..support.multipart_bodies import BOUNDARY, CONTENT_TYPE, Part, encode, split_at

Parsed = list[tuple[str, str | None, bytes]]


def parse(chunks: list[bytes], boundary: str = BOUNDARY, *, max_header_size: int = 8192) -> Parsed:
    """Feed ``chunks`` one by one and rebuild (name, filename, content) for each part."""
    stream = MultipartStream(boundary.encode(), max_header_size=max_header_size)
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


def one_part(*header_lines: bytes, content: bytes = b"x") -> bytes:
    """A body of one part with exactly ``header_lines`` (CRLFs added)."""
    headers = b"".join(line + b"\r\n" for line in header_lines)
    dash_boundary = b"--" + BOUNDARY.encode()
    return dash_boundary + b"\r\n" + headers + b"\r\n" + content + b"\r\n" + dash_boundary + b"--"


def part_start(body: bytes) -> PartStart:
    """The first event of ``body``, which must be a part's start."""
    [start, *_] = MultipartStream(BOUNDARY.encode(), max_header_size=8192).feed(body)
    assert isinstance(start, PartStart)
    return start


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


@pytest.mark.parametrize(
    "content_type",
    [
        "MULTIPART/FORM-DATA; boundary=AbC",
        "Multipart/Form-Data; BOUNDARY=AbC",
        "multipart/FORM-data;boundary=AbC",
    ],
)
def test_media_type_is_case_insensitive_but_the_boundary_is_not(content_type: str) -> None:
    assert multipart_boundary(content_type) == b"AbC"


DELIMITER_PREFIX = b"\r\n--" + BOUNDARY.encode()[:-1]


def test_preamble_padding_and_epilogue_parse_at_every_split() -> None:
    preamble = b"This is the preamble.\r\n--" + BOUNDARY.encode()[:-1] + b"\r\n" + DELIMITER_PREFIX
    epilogue = b"epilogue\r\n--" + BOUNDARY.encode() + b"\r\nnot a part\r\n"
    body = encode(TRICKY_PARTS, preamble=preamble, padding=b" \t \t", epilogue=epilogue)
    for cut in range(1, len(body)):
        assert parse(split_at(body, [cut])) == expected(TRICKY_PARTS), cut


def test_preamble_is_skipped() -> None:
    body = encode([Part("f", b"data", "a.txt")], preamble=b"Please use a MIME reader.\r\n")
    assert parse([body]) == [("f", "a.txt", b"data")]


def test_body_may_start_with_a_line_break_before_the_first_delimiter() -> None:
    assert parse([b"\r\n" + encode([Part("f", b"data")])]) == [("f", None, b"data")]


@pytest.mark.parametrize("padding", [b" ", b"\t", b"  \t \t  "])
def test_transport_padding_after_delimiters_is_ignored(padding: bytes) -> None:
    parts = [Part("a", b"one"), Part("b", b"two", "b.txt")]
    assert parse([encode(parts, padding=padding)]) == expected(parts)


def test_epilogue_after_the_closing_delimiter_is_ignored() -> None:
    stream = MultipartStream(BOUNDARY.encode(), max_header_size=8192)
    body = encode([Part("f", b"data")], epilogue=b"--" + BOUNDARY.encode() + b"\r\ntrailing")
    [start, data, end] = stream.feed(body)
    assert stream.complete
    assert stream.feed(b"more epilogue\r\n") == []
    stream.close()
    assert start == PartStart("f", None, "application/octet-stream") and end == PartEnd()
    assert isinstance(data, PartData) and bytes(data.data) == b"data"


@pytest.mark.parametrize(
    "after_delimiter",
    [b"X\r\n", b"  x\r\n", b"-x\r\n", b" --\r\n", b"\rx", b"\t\r\r\n"],
)
def test_a_line_starting_with_the_delimiter_must_be_a_delimiter_line(
    after_delimiter: bytes,
) -> None:
    # RFC 2046 5.1.1: a boundary found after a CRLF is a delimiter, whatever follows it.
    body = encode([Part("f", b"before\r\n--" + BOUNDARY.encode() + after_delimiter + b"after")])
    with pytest.raises(MalformedUploadError):
        parse([body])


def test_preamble_line_starting_with_the_boundary_is_malformed() -> None:
    body = encode([Part("f", b"x")], preamble=b"--" + BOUNDARY.encode() + b"-not-quite")
    with pytest.raises(MalformedUploadError):
        parse([body])


def test_header_names_and_disposition_type_are_case_insensitive() -> None:
    body = one_part(
        b'CONTENT-DISPOSITION: FORM-DATA; NAME="f"; FileName="a.txt"', b"content-TYPE: text/csv"
    )
    assert part_start(body) == PartStart("f", "a.txt", "text/csv")


@pytest.mark.parametrize(
    "content_type",
    [
        b"text/plain\nx",
        b"text/plain\rx",
        b"text/pl\x00ain",
        b"text/plain; charset=utf-8\x7f",
        b"textplain",
        b"",
        b"text/",
        b"/plain",
        b'text/plain; charset="unterminated',
        b"text/pl@in",
        b"te xt/plain",
        b"text/plain; charset=ut(f-8",
        b"text/plain; charset",
        b"text/plain charset=utf-8",
        "text/plàin".encode(),
    ],
)
def test_invalid_part_content_type_becomes_octet_stream(content_type: bytes) -> None:
    body = one_part(b'Content-Disposition: form-data; name="f"', b"Content-Type: " + content_type)
    assert part_start(body).content_type == "application/octet-stream"


@pytest.mark.parametrize("separator", [b"; ", b" ;  ", b";\t "])
def test_invalid_content_type_is_refused_without_backtracking(separator: bytes) -> None:
    # Where runs of spaces can be split between two repeats, a failing match takes 2**n steps.
    body = one_part(
        b'Content-Disposition: form-data; name="f"',
        b"Content-Type: text/plain" + separator * 28 + b"@",
    )
    started = time.perf_counter()
    assert part_start(body).content_type == "application/octet-stream"
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain; charset=utf-8",
        'text/csv;charset="utf-8"',
        'text/plain; name="a \\"quoted\\" b"; format=flowed',
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "TEXT/CSV",
        "text/plain;",
        "text/plain ;\tcharset=us-ascii",
    ],
)
def test_valid_part_content_type_is_kept_as_sent(content_type: str) -> None:
    body = one_part(
        b'Content-Disposition: form-data; name="f"', b"Content-Type:  " + content_type.encode()
    )
    assert part_start(body).content_type == content_type


@pytest.mark.parametrize("control", [b"\x00", b"\x01", b"\x0b", b"\r", b"\n", b"\x1f", b"\x7f"])
def test_control_characters_in_content_disposition_are_malformed(control: bytes) -> None:
    body = one_part(b'Content-Disposition: form-data; name="f"; filename="a' + control + b'b"')
    with pytest.raises(MalformedUploadError):
        parse([body])


def test_tab_in_content_disposition_is_allowed() -> None:
    body = one_part(b'Content-Disposition:\tform-data;\tname="f";\tfilename="a\tb.txt"')
    assert part_start(body) == PartStart("f", "a\tb.txt", "application/octet-stream")


def test_other_part_headers_are_ignored_whatever_they_hold() -> None:
    body = one_part(b"X-Note: \x00\x7f\rbinary", b'Content-Disposition: form-data; name="f"')
    assert parse([body]) == [("f", None, b"x")]


@pytest.mark.parametrize(
    "header_line",
    [b"X-No-Colon", b" folded: continuation", b"X Space: v", b": no name", b"X-\x00: v"],
)
def test_malformed_header_lines_are_malformed(header_line: bytes) -> None:
    body = one_part(b'Content-Disposition: form-data; name="f"', header_line)
    with pytest.raises(MalformedUploadError):
        parse([body])


@pytest.mark.parametrize(
    "disposition",
    [
        b"Content-Disposition: form-data",
        b'Content-Disposition: form-data; filename="a.txt"',
        b'Content-Disposition: form-data; nam="f"',
        b'Content-Disposition: attachment; name="f"',
        b'Content-Disposition: inline; name="f"',
        b"Content-Disposition:",
        b"X-Other: form-data; name=f",
    ],
)
def test_part_without_a_form_data_name_is_malformed(disposition: bytes) -> None:
    with pytest.raises(MalformedUploadError, match="lacks a form-data Content-Disposition"):
        parse([one_part(disposition)])


def test_header_block_at_the_limit_parses_and_one_byte_more_is_too_large() -> None:
    disposition = b'Content-Disposition: form-data; name="f"'
    filler = b"X-Filler: " + b"a" * (200 - len(disposition) - 2 - len(b"X-Filler: ") - 2)
    at_limit = one_part(disposition, filler)
    over_limit = one_part(disposition, filler + b"a")
    for cut in range(1, len(at_limit)):
        assert parse(split_at(at_limit, [cut]), max_header_size=200) == [("f", None, b"x")]
    for cut in range(1, len(over_limit)):
        with pytest.raises(UploadTooLargeError, match=r"A part's headers are too large\."):
            parse(split_at(over_limit, [cut]), max_header_size=200)


def test_endless_header_block_is_refused_without_being_buffered() -> None:
    stream = MultipartStream(BOUNDARY.encode(), max_header_size=1024)
    stream.feed(b"--" + BOUNDARY.encode() + b"\r\nX-Endless: ")
    with pytest.raises(UploadTooLargeError):
        for _ in range(100):
            stream.feed(b"a" * 100)


def test_body_cut_short_anywhere_before_its_closing_delimiter_is_malformed() -> None:
    body = encode(TRICKY_PARTS, preamble=b"preamble", padding=b" ")
    closed_at = body.rindex(b"--" + BOUNDARY.encode() + b"--") + len(BOUNDARY) + 4
    assert parse([body[:closed_at]]) == expected(TRICKY_PARTS)
    for end in range(closed_at):
        with pytest.raises(MalformedUploadError):
            parse([body[:end]])


def test_part_data_is_a_view_of_the_fed_chunk_but_for_held_back_bytes() -> None:
    content = (b"data" * 100 + DELIMITER_PREFIX) * 50
    body = encode([Part("f", content, "a.bin")])
    # Every chunk ends with the longest run of bytes that may begin a delimiter.
    cuts = [
        i + len(DELIMITER_PREFIX) for i in range(len(body)) if body.startswith(DELIMITER_PREFIX, i)
    ]
    stream = MultipartStream(BOUNDARY.encode(), max_header_size=8192)
    received = bytearray()
    for chunk in split_at(body, cuts):
        data = [event.data for event in stream.feed(chunk) if isinstance(event, PartData)]
        copied = sum(len(view) for view in data if view.obj is not chunk)
        assert copied <= len(DELIMITER_PREFIX)
        received += b"".join(data)
    assert stream.complete and bytes(received) == content


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


_padding = st.sampled_from([b"", b" ", b"\t", b" \t \t"])
_epilogue = st.lists(
    st.sampled_from([b"\r\n", b"--" + BOUNDARY.encode(), b"--", b"text"]) | st.binary(max_size=8),
    max_size=6,
).map(b"".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=_parts,
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
    preamble=st.none() | _tricky_bytes,
    padding=_padding,
    epilogue=_epilogue,
)
def test_any_body_split_anywhere_matches_the_reference_parse(
    parts: list[Part], cuts: list[int], preamble: bytes | None, padding: bytes, epilogue: bytes
) -> None:
    body = encode(parts, preamble=preamble, padding=padding, epilogue=epilogue)
    chunks = split_at(body, [cut % len(body) for cut in cuts])
    assert parse(chunks) == expected(parts) == werkzeug_parse(body)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=_parts, cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_werkzeug_encoded_body_split_anywhere_parses(parts: list[Part], cuts: list[int]) -> None:
    body = werkzeug_encode(parts)
    assert parse(split_at(body, [cut % len(body) for cut in cuts])) == expected(parts)
