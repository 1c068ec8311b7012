"""The tutorial's /upload: store the `wordlist-upload` file under a safe, unique name."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from pathlib import Path

import aiofiles
import aiofiles.os
from quart import Blueprint, Response, current_app, jsonify, render_template, request
from quart.datastructures import FileStorage
from werkzeug.exceptions import BadRequest, Forbidden, Unauthorized
from werkzeug.utils import secure_filename

from ..negotiation import wants_json
from ..security import (
    CSRF_FIELD,
    api_key_is_valid,
    check_csrf,
    presented_api_key,
    signed_in_user,
)

bp = Blueprint("uploads", __name__)

UPLOAD_FIELD = "wordlist-upload"
_CHUNK_SIZE = 256 * 1024


def _authorise_upload() -> bool:
    """Return True for API-key clients, False for signed-in users; raise 401/403 otherwise."""
    key = presented_api_key()
    if key:
        if not api_key_is_valid(key):
            raise Forbidden("Incorrect API key.")
        return True
    if signed_in_user() is None:
        raise Unauthorized("Sign in or present the API key to upload files.")
    return False


def _unique_name(original: str) -> str:
    safe = secure_filename(original) or "upload"
    stem, dot, suffix = safe.rpartition(".")
    if not dot or not stem:
        stem, suffix = safe, ""
    return f"{stem}-{secrets.token_hex(6)}{'.' + suffix if suffix else ''}"


async def _save(upload: FileStorage, folder: Path) -> tuple[str, int, str]:
    name = _unique_name(upload.filename or "")
    partial = folder / f".{name}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        async with aiofiles.open(partial, "wb") as out:
            while chunk := await asyncio.to_thread(upload.stream.read, _CHUNK_SIZE):
                digest.update(chunk)
                size += len(chunk)
                await out.write(chunk)
        await aiofiles.os.replace(partial, folder / name)
    except BaseException:
        if await aiofiles.os.path.exists(partial):
            await aiofiles.os.remove(partial)
        raise
    return name, size, digest.hexdigest()


@bp.get("/upload")
async def upload_form() -> str:
    """Show the upload form."""
    return await render_template("upload.html", field=UPLOAD_FIELD)


@bp.post("/upload")
async def upload_file() -> Response | tuple[str, int]:
    """Store the uploaded file and say what was stored."""
    by_api_key = _authorise_upload()
    form = await request.form
    if not by_api_key:
        check_csrf(form.get(CSRF_FIELD))
    upload = (await request.files).get(UPLOAD_FIELD)
    if upload is None:
        raise BadRequest(f"No file was sent in the field '{UPLOAD_FIELD}'.")
    if not upload.filename:
        raise BadRequest("The file has no name; choose a file to upload.")
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    await asyncio.to_thread(os.makedirs, folder, exist_ok=True)
    name, size, sha256 = await _save(upload, folder)
    stored = {"name": name, "original_name": upload.filename, "size": size, "sha256": sha256}
    if wants_json() or by_api_key:
        response = jsonify({"files": [stored]})
        response.status_code = 201
        return response
    page = await render_template("upload-result.html", files=[stored])
    return page, 201
