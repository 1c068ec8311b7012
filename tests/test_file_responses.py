"""Downloads answer conditional and range requests as RFC 9110 says, and close their files."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from quart.datastructures import FileStorage
from quart.testing import QuartClient
from werkzeug.http import http_date, parse_date

from quart_app.file_responses import MAX_RANGES, download_name

from .support.app_settings import API_KEY
from .support.descriptors import descriptors_open_under

AUTH = {"X-API-Key": API_KEY, "Accept": "application/json"}
CONTENT = bytes(i % 251 for i in range(1000))
SIZE = len(CONTENT)


async def upload(client: QuartClient, content: bytes = CONTENT) -> str:
    """Store `content` with the API key; return its download URL."""
    response = await client.post(
        "/upload",
        headers=AUTH,
        files={"f": FileStorage(io.BytesIO(content), filename="data.bin", name="f")},
    )
    assert response.status_code == 201
    return str((await response.get_json())["files"][0]["url"])


def byteranges(body: bytes, content_type: str) -> list[tuple[str, str, bytes]]:
    """The (Content-Type, Content-Range, bytes) of each part of a multipart/byteranges body."""
    media_type, _, boundary = content_type.partition("; boundary=")
    assert media_type == "multipart/byteranges" and boundary
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode())
    assert chunks[0] == b"" and chunks[-1] == b"--\r\n"
    parts = []
    for chunk in chunks[1:-1]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().strip().split("\r\n"))
        assert set(fields) == {"Content-Type", "Content-Range"}
        parts.append((fields["Content-Type"], fields["Content-Range"], data))
    return parts


@pytest.mark.parametrize(
    ("range_header", "spans"),
    [
        ("bytes=0-99", [(0, 99)]),
        ("bytes=100-", [(100, 999)]),
        ("bytes=-4", [(996, 999)]),
        ("bytes=-5000", [(0, 999)]),
        ("bytes=0-0", [(0, 0)]),
        ("bytes=999-999", [(999, 999)]),
        ("bytes=990-5000", [(990, 999)]),
        ("bytes=0-1,1000-2000", [(0, 1)]),
        ("Bytes=5-6", [(5, 6)]),
        ("bytes=0-0,2-2", [(0, 0), (2, 2)]),
        ("bytes=500-599,0-9", [(500, 599), (0, 9)]),
        (" bytes=0-1 , ,-2 ", [(0, 1), (998, 999)]),
        ("bytes=0-10,5-20", [(0, 20)]),
        ("bytes=0-9,10-19", [(0, 19)]),
        ("bytes=50-59,0-9,10-19,5-7", [(50, 59), (0, 19)]),
        ("bytes=0-" + "0" * 5000 + "1", [(0, 1)]),
        ("bytes=-" + "9" * 5000, [(0, 999)]),
        (
            f"bytes={','.join(f'{2 * i}-{2 * i}' for i in range(MAX_RANGES))}",
            [(2 * i, 2 * i) for i in range(MAX_RANGES)],
        ),
    ],
)
async def test_satisfiable_ranges_are_206(
    client: QuartClient, range_header: str, spans: list[tuple[int, int]]
) -> None:
    url = await upload(client)
    response = await client.get(url, headers={**AUTH, "Range": range_header})
    body = await response.get_data(as_text=False)
    assert response.status_code == 206
    assert response.headers["Accept-Ranges"] == "bytes"
    if len(spans) == 1:
        [(first, last)] = spans
        assert response.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert body == CONTENT[first : last + 1]
    else:
        assert "Content-Range" not in response.headers
        assert byteranges(body, response.headers["Content-Type"]) == [
            ("application/octet-stream", f"bytes {first}-{last}/{SIZE}", CONTENT[first : last + 1])
            for first, last in spans
        ]


@pytest.mark.parametrize(
    "range_header",
    [
        f"bytes={','.join(f'{2 * i}-{2 * i}' for i in range(MAX_RANGES + 1))}",
        "bytes=abc",
        "bytes=5-3",
        "bytes=",
        "bytes=-",
        "bytes=--1",
        "bytes=0-1;2-3",
        "bytes=0x10-0x20",
        "bytes 0-1",
        "0-1",
        "items=0-1",
        "bytes=0-1,5-3",
    ],
)
async def test_ignored_range_headers_send_the_whole_file(
    client: QuartClient, range_header: str
) -> None:
    url = await upload(client)
    response = await client.get(url, headers={**AUTH, "Range": range_header})
    assert response.status_code == 200
    assert "Content-Range" not in response.headers
    assert await response.get_data() == CONTENT


@pytest.mark.parametrize("range_header", ["bytes=1000-", "bytes=1000-2000,5000-", "bytes=-0"])
async def test_unsatisfiable_ranges_are_416_with_the_size(
    client: QuartClient, range_header: str
) -> None:
    url = await upload(client)
    response = await client.get(url, headers={**AUTH, "Range": range_header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"
    assert (await response.get_json())["status"] == 416


@pytest.mark.parametrize("range_header", [None, "bytes=0-", "bytes=0-0", "bytes=-1", "bytes=5-"])
async def test_an_empty_file_ignores_ranges(client: QuartClient, range_header: str | None) -> None:
    url = await upload(client, b"")
    headers = AUTH if range_header is None else {**AUTH, "Range": range_header}
    response = await client.get(url, headers=headers)
    assert response.status_code == 200
    assert "Content-Range" not in response.headers
    assert await response.get_data() == b""


async def validators_of(client: QuartClient, url: str) -> dict[str, str]:
    """The ETag, its weak form, Last-Modified, and dates a day before and after it."""
    response = await client.get(url, headers=AUTH)
    last_modified = parse_date(response.headers["Last-Modified"])
    assert last_modified is not None
    day = timedelta(days=1)
    return {
        "etag": response.headers["ETag"],
        "weak": "W/" + response.headers["ETag"],
        "date": response.headers["Last-Modified"],
        "before": http_date(last_modified - day),
        "after": http_date(last_modified + day),
    }


@pytest.mark.parametrize(
    ("conditions", "status"),
    [
        ({"If-Range": "{etag}", "Range": "bytes=0-9"}, 206),
        ({"If-Range": "{date}", "Range": "bytes=0-9"}, 206),
        ({"If-Range": '"other"', "Range": "bytes=0-9"}, 200),
        ({"If-Range": "{weak}", "Range": "bytes=0-9"}, 200),
        ({"If-Range": "{before}", "Range": "bytes=0-9"}, 200),
        ({"If-Range": "not a validator", "Range": "bytes=0-9"}, 200),
        ({"If-None-Match": "{etag}"}, 304),
        ({"If-None-Match": "{weak}"}, 304),
        ({"If-None-Match": '"other", {etag}'}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-None-Match": "{etag}", "Range": "bytes=0-9"}, 304),
        ({"If-Modified-Since": "{date}"}, 304),
        ({"If-Modified-Since": "{after}"}, 304),
        ({"If-Modified-Since": "{before}"}, 200),
        ({"If-Modified-Since": "yesterday"}, 200),
        ({"If-None-Match": '"other"', "If-Modified-Since": "{date}"}, 200),
        ({"If-Match": "{etag}"}, 200),
        ({"If-Match": "*"}, 200),
        ({"If-Match": '"other"'}, 412),
        ({"If-Match": "{weak}"}, 412),
        ({"If-Match": '"other"', "Range": "bytes=0-9"}, 412),
        ({"If-Match": '"other"', "If-None-Match": "{etag}"}, 412),
        ({"If-Unmodified-Since": "{date}"}, 200),
        ({"If-Unmodified-Since": "{before}"}, 412),
        ({"If-Match": "{etag}", "If-Unmodified-Since": "{before}"}, 200),
    ],
)
async def test_conditional_requests(
    client: QuartClient, conditions: dict[str, str], status: int
) -> None:
    url = await upload(client)
    values = await validators_of(client, url)
    headers = {name: value.format(**values) for name, value in conditions.items()}
    response = await client.get(url, headers={**AUTH, **headers})
    body = await response.get_data()
    assert response.status_code == status
    if status == 304:
        assert body == b""
        assert response.headers["ETag"] == values["etag"]
        assert response.headers["Cache-Control"] == "private, no-cache"
    elif status == 412:
        assert (await response.get_json())["status"] == 412
    else:
        assert body == (CONTENT[:10] if status == 206 else CONTENT)


async def test_validators_are_the_digest_and_the_creation_time(client: QuartClient) -> None:
    response = await client.post(
        "/upload",
        headers=AUTH,
        files={"f": FileStorage(io.BytesIO(CONTENT), filename="data.bin", name="f")},
    )
    [entry] = (await response.get_json())["files"]
    listing = await (await client.get("/uploads", headers=AUTH)).get_json()
    created = datetime.fromtimestamp(int(listing["files"][0]["created"]), UTC)
    download = await client.get(entry["url"], headers=AUTH)
    assert download.headers["ETag"] == f'"{entry["sha256"]}"'
    assert parse_date(download.headers["Last-Modified"]) == created


@pytest.mark.parametrize("range_header", [None, "bytes=0-9", "bytes=0-0,5-5"])
async def test_head_answers_the_whole_files_headers_without_a_body(
    client: QuartClient, range_header: str | None
) -> None:
    url = await upload(client)
    whole = await client.get(url, headers=AUTH)
    headers = AUTH if range_header is None else {**AUTH, "Range": range_header}
    head = await client.head(url, headers=headers)
    assert head.status_code == 200
    assert await head.get_data() == b""
    # The test client recounts Content-Length from the body it got; served HEADs keep it.
    del head.headers["Content-Length"], whole.headers["Content-Length"]
    assert sorted(head.headers.items()) == sorted(whole.headers.items())


@pytest.mark.parametrize(
    ("original", "name"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("\uff0e\uff0e\uff0fetc\uff0fpasswd", "passwd"),
        ("a\\b.txt", "b.txt"),
        ("C:\\Users\\x\\notes.txt", "notes.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("\u202e\u200b\u2066.txt\u2069", "txt"),
        ("  .hidden. ", "hidden"),
        ("ünï ß.txt", "ünï ß.txt"),
        ("ﬁle\u2028name.txt", "filename.txt"),
        ("...", "stored-0123456789ab"),
        ("..", "stored-0123456789ab"),
        ("a/..", "stored-0123456789ab"),
        ("\x00\x01\x7f", "stored-0123456789ab"),
        ("\u202e\u200f", "stored-0123456789ab"),
        ("", "stored-0123456789ab"),
    ],
)
def test_download_names_are_safe_base_names(original: str, name: str) -> None:
    assert download_name(original, fallback="stored-0123456789ab") == name


async def test_descriptors_are_closed_whatever_the_answer(
    client: QuartClient, uploads_dir: Path
) -> None:
    url = await upload(client)
    values = await validators_of(client, url)
    requests = [
        ("GET", {}),
        ("HEAD", {}),
        ("GET", {"Range": "bytes=0-9"}),
        ("GET", {"Range": "bytes=0-9,20-29"}),
        ("GET", {"If-None-Match": values["etag"]}),
        ("GET", {"If-Match": '"other"'}),
        ("GET", {"Range": "bytes=5000-"}),
        ("HEAD", {"If-None-Match": values["etag"]}),
    ]
    statuses = set()
    for _ in range(25):
        for method, headers in requests:
            response = await client.open(url, method=method, headers={**AUTH, **headers})
            await response.get_data()
            statuses.add(response.status_code)
    assert statuses == {200, 206, 304, 412, 416}
    assert descriptors_open_under(uploads_dir) == []
