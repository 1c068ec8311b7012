"""The tutorial's /upload: store the `wordlist-upload` file under a safe, unique name."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import BadRequest
from werkzeug.utils import secure_filename

from ..access import caller_required
from ..negotiation import wants_json

bp = Blueprint("uploads", __name__)

UPLOAD_FIELD = "wordlist-upload"
_CHUNK_SIZE = 256 * 1024


def _unique_name(original: str) -> str:
    safe = secure_filename(original) or "upload"
    stem, dot, suffix = safe.rpartition(".")
    if not dot or not stem:
        stem, suffix = safe, ""
    return f"{stem}-{secrets.token_hex(6)}{'.' + suffix if suffix else ''}"


def _size_and_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stored:
        while chunk := stored.read(_CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


@bp.get("/upload")
def upload_form() -> str:
    """Show the upload form."""
    return render_template("upload.html", field=UPLOAD_FIELD)


@bp.post("/upload")
@caller_required()
def upload_file() -> Response | tuple[str, int]:
    """Store the uploaded file and say what was stored."""
    if UPLOAD_FIELD not in request.files:
        raise BadRequest(f"No file was sent in the field '{UPLOAD_FIELD}'.")
    f = request.files[UPLOAD_FIELD]
    if not f.filename:
        raise BadRequest("The file has no name; choose a file to upload.")
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    os.makedirs(folder, exist_ok=True)
    name = _unique_name(f.filename)
    # Saved under a hidden partial name first, so a failed upload never looks like a stored one.
    partial = folder / f".{name}.part"
    try:
        f.save(partial)
        size, sha256 = _size_and_digest(partial)
        os.replace(partial, folder / name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    stored = {"name": name, "original_name": f.filename, "size": size, "sha256": sha256}
    if wants_json():
        response = jsonify({"files": [stored]})
        response.status_code = 201
        return response
    page = render_template("upload-result.html", files=[stored])
    return page, 201
