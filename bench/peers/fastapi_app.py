"""A FastAPI upload endpoint as FastAPI's documentation teaches it, kept as a benchmark peer.

``async def`` with an ``UploadFile`` parameter (Starlette parses the form and spools the file to
a temporary file first), then ``shutil.copyfileobj`` to the destination.

Serve with: uvicorn --workers 2 bench.peers.fastapi_app:app (BENCH_UPLOAD_DIR sets the folder).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, File, UploadFile
from fastapi.responses import PlainTextResponse
from werkzeug.utils import secure_filename

UPLOAD_DIR = Path(os.environ.get("BENCH_UPLOAD_DIR", "bench-uploads"))

app = FastAPI()


@app.get("/", response_class=PlainTextResponse)
async def index() -> str:
    """The page the benchmark fetches during uploads."""
    return "Hello World!"


@app.post("/upload", status_code=201)
async def upload(
    file: Annotated[UploadFile, File(alias="wordlist-upload")],
) -> dict[str, object]:
    """Save the file part as the documentation's examples do."""
    name = f"{uuid.uuid4().hex}-{secure_filename(file.filename or 'upload')}"
    with open(UPLOAD_DIR / name, "wb") as destination:
        shutil.copyfileobj(file.file, destination)
    return {"files": [{"name": name}]}
