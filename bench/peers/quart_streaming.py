"""A plain streaming Quart upload view, as a user would write one: a benchmark peer.

python-multipart's streaming parser fed from ``request.body`` chunks, each file written with
aiofiles in 1 MiB writes, no hashing.

Serve with: hypercorn bench.peers.quart_streaming:app (BENCH_UPLOAD_DIR sets the folder).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import aiofiles
from python_multipart.multipart import MultipartParser, parse_options_header
from quart import Quart, request
from werkzeug.utils import secure_filename

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

UPLOAD_DIR = Path(os.environ.get("BENCH_UPLOAD_DIR", "bench-uploads"))
WRITE_SIZE = 1024 * 1024

app = Quart(__name__)
app.config["MAX_CONTENT_LENGTH"] = 2 * 1024**3


@app.get("/")
async def index() -> str:
    """The page the benchmark fetches during uploads."""
    return "Hello World!"


class _Events:
    """The parser's callbacks, kept as (kind, data) events until the view handles them."""

    def __init__(self) -> None:
        self.pending: list[tuple[str, bytes]] = []
        self._field = b""
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_header_field": lambda data, start, end: self._set_field(data[start:end]),
            "on_header_value": lambda data, start, end: self._add_value(data[start:end]),
            "on_headers_finished": self._begin,
            "on_part_data": lambda data, start, end: self.pending.append(
                ("data", data[start:end])
            ),
            "on_part_end": lambda: self.pending.append(("end", b"")),
        }

    def _set_field(self, name: bytes) -> None:
        self._field = name.lower()

    def _add_value(self, value: bytes) -> None:
        self._headers[self._field] = self._headers.get(self._field, b"") + value

    def _begin(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self.pending.append(("begin", options.get(b"filename", b"upload")))
        self._headers = {}


@app.post("/upload")
async def upload() -> tuple[dict[str, object], int]:
    """Stream every part of the form to its own file."""
    _, options = parse_options_header(request.headers["Content-Type"])
    events = _Events()
    parser = MultipartParser(options[b"boundary"], events.callbacks())
    stored: list[dict[str, str]] = []
    buffer = bytearray()
    async for chunk in request.body:
        parser.write(chunk)
        for kind, data in events.pending:
            if kind == "begin":
                name = f"{uuid.uuid4().hex}-{secure_filename(data.decode()) or 'upload'}"
                file = await aiofiles.open(UPLOAD_DIR / name, "wb")
                stored.append({"name": name})
            elif kind == "data":
                buffer += data
                while len(buffer) >= WRITE_SIZE:
                    await file.write(buffer[:WRITE_SIZE])
                    del buffer[:WRITE_SIZE]
            else:
                await file.write(buffer)
                await file.close()
                buffer.clear()
        events.pending.clear()
    parser.finalize()
    return {"files": stored}, 201
