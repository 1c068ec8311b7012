"""The tutorial's Flask upload view, kept as a benchmark peer.

Serve with: gunicorn --workers 2 bench.peers.flask_app:app (BENCH_UPLOAD_DIR sets the folder).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from flask import Flask, request
from werkzeug.utils import secure_filename

UPLOAD_DIR = Path(os.environ.get("BENCH_UPLOAD_DIR", "bench-uploads"))

app = Flask(__name__)


@app.get("/")
def index() -> str:
    """The page the benchmark fetches during uploads."""
    return "Hello World!"


@app.post("/upload")
def upload() -> tuple[dict[str, object], int]:
    """Save every file part as the tutorial does."""
    stored = []
    for storage in request.files.values():
        name = f"{uuid.uuid4().hex}-{secure_filename(storage.filename or 'upload')}"
        storage.save(UPLOAD_DIR / name)
        stored.append({"name": name})
    return {"files": stored}, 201
