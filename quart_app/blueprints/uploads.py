"""Uploads: /upload streams files into the store; /uploads lists, serves and deletes them."""

from __future__ import annotations

from typing import Any

from quart import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.wrappers import Response as WerkzeugResponse

from ..access import caller_required, stream_csrf_check
from ..backpressure import request_batches
from ..errors import error_response
from ..file_responses import attachment_response, direct_download, disposition
from ..negotiation import wants_json
from ..upload_engine import (
    StoredFile,
    UploadError,
    receive_uploads,
    sha256_from_digest_header,
)
from ..upload_settings import get_upload_limits, get_upload_shutdown, get_upload_store

bp = Blueprint("uploads", __name__)

UPLOAD_FIELD = "wordlist-upload"
_DIGEST_HEADERS = ("Repr-Digest", "Content-Digest")
_FORMS_WITHOUT_FILES = {"", "application/x-www-form-urlencoded"}
_NO_FILE = f"No file was sent in the field '{UPLOAD_FIELD}'."


def _describe(stored: StoredFile, *, with_created: bool = False) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": stored.name,
        "original_name": stored.original_name,
        "size": stored.size,
        "sha256": stored.sha256,
        "url": url_for("uploads.download", name=stored.name),
        "content_type": stored.content_type,
    }
    if with_created:
        described["created"] = stored.created
    return described


def _expected_digest() -> str | None:
    for header in _DIGEST_HEADERS:
        if digest := sha256_from_digest_header(request.headers.get(header)):
            return digest
    return None


@bp.errorhandler(UploadError)
async def upload_refused(error: UploadError) -> Response:
    """Answer a refused upload with its status, as HTML or JSON."""
    http_error = HTTPException(description=error.message)
    http_error.code = error.status
    response = await error_response(http_error)
    response.headers.update(error.headers)
    return response


@bp.get("/upload")
async def upload_form() -> str:
    """Show the upload form."""
    list_url = url_for("uploads.list_uploads")
    return await render_template("upload.html", field=UPLOAD_FIELD, list_url=list_url)


@bp.post("/upload")
@caller_required(csrf_in_stream=True)
async def upload_file() -> Response | tuple[str, int]:
    """Stream every file of a multipart body into the store and say what was stored."""
    if request.mimetype in _FORMS_WITHOUT_FILES:
        raise BadRequest(_NO_FILE)
    stored = await receive_uploads(
        request_batches(request),
        content_type=request.headers.get("Content-Type"),
        content_length=request.content_length,
        limits=get_upload_limits(),
        store=get_upload_store(),
        expected_sha256=_expected_digest(),
        check_fields=stream_csrf_check(),
        shutdown=get_upload_shutdown(),
    )
    if not stored:
        raise BadRequest(_NO_FILE)
    files = [_describe(file) for file in stored]
    if wants_json():
        response = jsonify({"files": files})
        response.status_code = 201
        response.headers["Location"] = files[0]["url"]
        return response
    list_url = url_for("uploads.list_uploads")
    page = await render_template("upload-result.html", files=files, list_url=list_url)
    return page, 201


@bp.get("/uploads")
@caller_required()
async def list_uploads() -> Response | str:
    """List the stored files, newest first, a page at a time."""
    page_number = request.args.get("page", 1, type=int) or 1
    page = await get_upload_store().list_page(page_number, current_app.config["UPLOADS_PER_PAGE"])
    files = [_describe(file, with_created=True) for file in page.files]
    if wants_json():
        listing = {"files": files, "page": page.page, "pages": page.pages, "total": page.total}
        return jsonify(listing)
    return await render_template("uploads.html", files=files, page=page)


@bp.get("/uploads/<name>")
@caller_required()
async def download(name: str) -> Response:
    """Send a stored file as an attachment under its original name, whole or in ranges."""
    opened = await get_upload_store().open(name)
    if opened is None:
        raise NotFound("No stored file has that name.")
    if (
        url := await opened.direct_url(content_disposition=disposition(opened.stored))
    ) is not None:
        opened.close()
        return direct_download(url)
    return attachment_response(opened)


async def _delete(name: str) -> None:
    if not await get_upload_store().delete(name):
        raise NotFound("No stored file has that name.")


@bp.delete("/uploads/<name>")
@caller_required()
async def delete_upload(name: str) -> Response:
    """Delete a stored file (CSRF header required for signed-in users)."""
    await _delete(name)
    return Response(status=204)


@bp.post("/uploads/<name>/delete")
@caller_required()
async def delete_upload_form(name: str) -> WerkzeugResponse:
    """Delete a stored file from the list page's form, then go back to the list."""
    await _delete(name)
    await flash(f"Deleted {name}.")
    return redirect(url_for("uploads.list_uploads"), 303)
