"""/healthz: whether this worker can serve, for load balancers and container health checks."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import suppress
from typing import Final

from quart import Blueprint, Response, jsonify

from ..database import DatabaseUnavailableError
from ..db import get_user_store
from ..upload_settings import get_upload_store
from ..version import VERSION

bp = Blueprint("health", __name__)

_STORE_CHECK_SECONDS: Final = 3.0
_DATABASE_CHECK_SECONDS: Final = 3.0


async def _database_reachable() -> bool:
    try:
        async with asyncio.timeout(_DATABASE_CHECK_SECONDS):
            await get_user_store().count()
    except (sqlite3.Error, DatabaseUnavailableError, TimeoutError):
        return False
    return True


@bp.get("/healthz")
async def health() -> Response:
    """Say whether the database answers and the upload store takes files: 200, else 503."""
    database = await _database_reachable()
    uploads = False
    # An object store that does not answer would hold the check for its client's timeouts.
    with suppress(TimeoutError):
        async with asyncio.timeout(_STORE_CHECK_SECONDS):
            uploads = await get_upload_store().check_reachable()
    healthy = database and uploads
    response = jsonify(
        {
            "status": "ok" if healthy else "failing",
            "version": VERSION,
            "database_reachable": database,
            "upload_store_reachable": uploads,
        }
    )
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
