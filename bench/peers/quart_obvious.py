"""The obvious Quart port of the tutorial's upload view, kept as a benchmark peer.

Serve with: hypercorn --workers 2 bench.peers.quart_obvious:app (BENCH_UPLOAD_DIR sets the folder).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from quart import Quart, request
from werkzeug.utils import secure_filename

UPLOAD_DIR = Path(os.environ.get("BENCH_UPLOAD_DIR", "bench-uploads"))

app = Quart(__name__)
app.config["MAX_CONTENT_LENGTH"] = 2 * 1024**3


@app.get("/")
async def index() -> str:
    """The page the benchmark fetches during uploads."""
    return "Hello World!"


@app.post("/upload")
async def upload() -> tuple[dict[str, object], int]:
    """Save every file part the way the Quart docs suggest."""
    files = await request.files
    stored = []
    for storage in files.values():
        name = f"{uuid.uuid4().hex}-{secure_filename(storage.filename or 'upload')}"
        await storage.save(UPLOAD_DIR / name)
        stored.append({"name": name})
    return {"files": stored}, 201
