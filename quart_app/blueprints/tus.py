"""Resumable uploads with the tus 1.0.0 protocol at /files/, published into the upload store."""

from __future__ import annotations

from typing import Final

from quart import Blueprint, Response, jsonify, request, url_for
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ..access import caller_required
from ..backpressure import request_batches
from ..tus_headers import (
    OFFSET_OCTET_STREAM,
    TUS_EXTENSIONS,
    TUS_VERSION,
    describe_upload,
    final_parts,
    is_partial,
    parse_checksum,
    parse_metadata,
    upload_headers,
    whole_number,
)
from ..upload_engine import (
    CHECKSUM_ALGORITHMS,
    MalformedUploadError,
    ResumableUpload,
    StoredFile,
    UnsupportedUploadTypeError,
    UploadError,
    sha256_from_digest_header,
)
from ..upload_settings import get_resumable_store, get_upload_shutdown

bp = Blueprint("tus", __name__, url_prefix="/files")

_OVERRIDABLE: Final = frozenset({"PATCH", "DELETE", "HEAD"})
_EXPOSED: Final = (
    "Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, Upload-Expires, "
    "Upload-Concat, Location, Content-Location, Tus-Resumable, Tus-Version, Tus-Extension, "
    "Tus-Max-Size, Tus-Checksum-Algorithm"
)
_ALLOWED_HEADERS: Final = (
    "Authorization, Content-Type, Tus-Resumable, Upload-Offset, Upload-Length, "
    "Upload-Defer-Length, Upload-Metadata, Upload-Checksum, Upload-Concat, Repr-Digest, "
    "X-API-Key, X-CSRF-Token, X-HTTP-Method-Override, X-Requested-With"
)
_METHODS: Final = "OPTIONS, HEAD, POST, PATCH, DELETE"


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"status": status, "error": _reason(status), "message": message})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _empty(status: int) -> Response:
    response = Response(b"", status=status)
    del response.headers["Content-Type"]
    if status != 204:
        # Said outright: an empty body would otherwise go chunked, and a HEAD answer unframed.
        response.headers["Content-Length"] = "0"
    return response


def _reason(status: int) -> str:
    if status == 460:
        return "Checksum Mismatch"
    error = HTTPException()
    error.code = status
    return error.name


@bp.errorhandler(UploadError)
async def upload_refused(error: UploadError) -> Response:
    """Answer a refused request with its status as JSON (tus clients read no HTML)."""
    return _error(error.status, error.message, dict(error.headers))


@bp.errorhandler(HTTPException)
async def http_error(error: HTTPException) -> Response:
    """Answer HTTP errors (401, 403, 404, 405 ...) as JSON, keeping headers such as Allow."""
    status = error.code or 500
    kept = {name: value for name, value in error.get_headers() if name != "Content-Type"}
    return _error(status, error.description or "", kept)


@bp.before_request
async def require_tus_version() -> Response | None:
    """Every request but OPTIONS names the protocol version; another one answers 412."""
    if request.method == "OPTIONS" or request.headers.get("Tus-Resumable") == TUS_VERSION:
        return None
    return _error(412, f"Send Tus-Resumable: {TUS_VERSION}.", {"Tus-Version": TUS_VERSION})


@bp.after_request
async def add_tus_headers(response: Response) -> Response:
    """The protocol's version on every answer; CORS for tus clients on other origins."""
    response.headers["Tus-Resumable"] = TUS_VERSION
    if request.headers.get("Origin"):
        # No credentials cross-origin: only an API key works from another site.
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = _EXPOSED
    return response


@bp.route("/", methods=["OPTIONS"])
async def capabilities() -> Response:
    """Say which protocol version, extensions, size and checksums the server supports."""
    response = _empty(204)
    response.headers.update(
        {
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
            "Allow": _METHODS,
        }
    )
    if (max_size := get_resumable_store().max_size) is not None:
        response.headers["Tus-Max-Size"] = str(max_size)
    if request.headers.get("Origin"):
        response.headers["Access-Control-Allow-Methods"] = _METHODS
        response.headers["Access-Control-Allow-Headers"] = _ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.route("/<upload_id>", methods=["OPTIONS"])
async def upload_capabilities(upload_id: str) -> Response:
    """The same for an upload's URL (where browsers send their CORS preflight)."""
    return await capabilities()


@bp.post("/")
@caller_required(csrf_in_header=True)
async def create() -> Response:
    """Create an upload (creation, creation-defer-length, concatenation), taking the first
    bytes from the body if it carries any (creation-with-upload)."""
    metadata = request.headers.get("Upload-Metadata", "")
    described = describe_upload(
        parse_metadata(metadata), sha256_from_digest_header(request.headers.get("Repr-Digest"))
    )
    concat = request.headers.get("Upload-Concat")
    resumable = get_resumable_store()
    parts = final_parts(concat)
    if parts is not None:
        upload, joined = await resumable.concatenate(
            parts,
            original_name=described.original_name,
            content_type=described.content_type,
            metadata=metadata,
            expected_sha256=described.expected_sha256,
        )
        return _created(upload, joined)
    length = whole_number("Upload-Length", request.headers.get("Upload-Length"))
    deferred = request.headers.get("Upload-Defer-Length")
    if deferred is not None and deferred.strip() != "1":
        raise MalformedUploadError("Upload-Defer-Length must be 1.")
    if (length is None) == (deferred is None):
        raise MalformedUploadError("Send either Upload-Length or Upload-Defer-Length: 1.")
    with_body = _has_body()
    upload = await resumable.create(
        length=length,
        original_name=described.original_name,
        content_type=described.content_type,
        metadata=metadata,
        expected_sha256=described.expected_sha256,
        partial=is_partial(concat),
    )
    stored: StoredFile | None = None
    if with_body or upload.length == 0:
        try:
            upload, stored = await _append(upload.id, offset=0)
        except UploadError:
            # Refused with its first bytes: the client never learns where it is; none kept.
            await resumable.terminate(upload.id)
            raise
    return _created(upload, stored)


def _has_body() -> bool:
    if request.mimetype == OFFSET_OCTET_STREAM:
        return True
    if request.content_length:
        raise UnsupportedUploadTypeError(f"A body to upload must be {OFFSET_OCTET_STREAM}.")
    return False


def _created(upload: ResumableUpload, stored: StoredFile | None) -> Response:
    response = _progress(upload, stored, status=201)
    response.headers["Location"] = url_for("tus.status", upload_id=upload.id)
    return response


def _progress(upload: ResumableUpload, stored: StoredFile | None, *, status: int) -> Response:
    response = _empty(status)
    response.headers.update(upload_headers(upload))
    name = stored.name if stored is not None else upload.stored_name
    if name:
        response.headers["Content-Location"] = url_for("uploads.download", name=name)
    return response


@bp.route("/<upload_id>", methods=["HEAD"])
@caller_required()
async def status(upload_id: str) -> Response:
    """The upload's offset, length (or that it is deferred), metadata and expiry."""
    upload = await get_resumable_store().settled(upload_id)
    response = _progress(upload, None, status=200)
    if upload.length is None:
        response.headers["Upload-Defer-Length"] = "1"
    else:
        response.headers["Upload-Length"] = str(upload.length)
    if upload.metadata:
        response.headers["Upload-Metadata"] = upload.metadata
    if upload.partial:
        response.headers["Upload-Concat"] = "partial"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.patch("/<upload_id>")
@caller_required(csrf_in_header=True)
async def append(upload_id: str) -> Response:
    """Write the body at Upload-Offset; a finished upload is published into the store."""
    if request.mimetype != OFFSET_OCTET_STREAM:
        raise UnsupportedUploadTypeError(f"PATCH bodies must be {OFFSET_OCTET_STREAM}.")
    offset = whole_number("Upload-Offset", request.headers.get("Upload-Offset"))
    if offset is None:
        raise MalformedUploadError("Upload-Offset is missing.")
    upload, stored = await _append(upload_id, offset=offset)
    return _progress(upload, stored, status=204)


async def _append(upload_id: str, *, offset: int) -> tuple[ResumableUpload, StoredFile | None]:
    return await get_resumable_store().append(
        upload_id,
        request_batches(request),
        offset=offset,
        length=whole_number("Upload-Length", request.headers.get("Upload-Length")),
        content_length=request.content_length,
        checksum=parse_checksum(request.headers.get("Upload-Checksum")),
        shutdown=get_upload_shutdown(),
    )


@bp.delete("/<upload_id>")
@caller_required(csrf_in_header=True)
async def terminate(upload_id: str) -> Response:
    """Remove the upload and whatever it received (termination); its quota is released."""
    await get_resumable_store().terminate(upload_id)
    return _empty(204)


@bp.post("/<upload_id>")
async def overridden(upload_id: str) -> Response:
    """POST standing for the method in X-HTTP-Method-Override (for clients that cannot
    send PATCH or DELETE)."""
    method = request.headers.get("X-HTTP-Method-Override", "").upper()
    if method not in _OVERRIDABLE:
        raise MethodNotAllowed(valid_methods=["OPTIONS", "HEAD", "PATCH", "DELETE"])
    view = {"PATCH": append, "DELETE": terminate, "HEAD": status}[method]
    return await view(upload_id)
