"""Wires the upload engine into the app: limits from configuration, the store, shutdown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from quart import Quart, current_app

from .backpressure import install_backpressure
from .upload_engine import Shutdown, UploadLimits, UploadStore

_STORE_KEY = "upload_store"
_LIMITS_KEY = "upload_limits"
_SHUTDOWN_KEY = "upload_shutdown"


def upload_limits_from(config: Mapping[str, Any]) -> UploadLimits:
    """Build the per-request upload limits from the ``UPLOAD_*`` settings."""
    return UploadLimits(
        max_request_size=config["UPLOAD_MAX_REQUEST_SIZE"],
        max_file_size=config["UPLOAD_MAX_FILE_SIZE"],
        max_files=config["UPLOAD_MAX_FILES"],
        max_fields=config["UPLOAD_MAX_FIELDS"],
        allowed_extensions=_lowercase_set(config["UPLOAD_ALLOWED_EXTENSIONS"]),
        allowed_content_types=_lowercase_set(config["UPLOAD_ALLOWED_CONTENT_TYPES"]),
        idle_timeout=config["UPLOAD_IDLE_TIMEOUT"],
    )


def _lowercase_set(values: Iterable[str] | str | None) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = values.split(",")
    return frozenset(value.strip().lower().lstrip(".") for value in values if value.strip())


def init_app(app: Quart) -> None:
    """Install backpressure and open the upload store when serving starts."""
    install_backpressure(app)
    app.extensions[_LIMITS_KEY] = upload_limits_from(app.config)
    app.extensions[_STORE_KEY] = UploadStore(
        Path(app.config["UPLOAD_FOLDER"]),
        quota=app.config["UPLOAD_QUOTA"],
        fsync=app.config["UPLOAD_FSYNC"],
    )
    app.extensions[_SHUTDOWN_KEY] = Shutdown()

    @app.before_serving
    async def prepare_upload_store() -> None:
        await get_upload_store().prepare()

    @app.after_serving
    async def close_upload_store() -> None:
        await get_upload_store().close()


def begin_shutdown(app: Quart, *, grace: float) -> None:
    """The server is stopping: refuse new uploads, cut off running ones after ``grace`` s."""
    cast(Shutdown, app.extensions[_SHUTDOWN_KEY]).begin(grace)


def get_upload_store() -> UploadStore:
    """The current app's upload store."""
    return cast(UploadStore, current_app.extensions[_STORE_KEY])


def get_upload_limits() -> UploadLimits:
    """The current app's per-request upload limits."""
    return cast(UploadLimits, current_app.extensions[_LIMITS_KEY])


def get_upload_shutdown() -> Shutdown:
    """The current app's shutdown notice for uploads."""
    return cast(Shutdown, current_app.extensions[_SHUTDOWN_KEY])
