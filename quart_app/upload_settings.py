"""Wires the upload engine into the app: limits from configuration, the store, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any, cast

from quart import Quart, current_app

from .application import StartupError, root_cause
from .backpressure import install_backpressure
from .config import database_location_from
from .shared_ledger import SharedLedger
from .upload_engine import (
    FileStore,
    ResumableStore,
    S3Settings,
    S3UploadStore,
    Shutdown,
    UploadError,
    UploadLimits,
    UploadStore,
)
from .upload_engine.ledger import META_DIR

_STORE_KEY = "upload_store"
_LIMITS_KEY = "upload_limits"
_SHUTDOWN_KEY = "upload_shutdown"
_RESUMABLE_KEY = "resumable_store"


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


def upload_store_from(config: Mapping[str, Any]) -> FileStore[Any]:
    """The store ``UPLOAD_STORAGE`` names: the local folder, or an S3 bucket (with the folder
    keeping the quota ledger and the state of uploads in progress)."""
    folder = Path(config["UPLOAD_FOLDER"])
    quota, fsync = config["UPLOAD_QUOTA"], config["UPLOAD_FSYNC"]
    if config["UPLOAD_STORAGE"] != "s3":
        return UploadStore(folder, quota=quota, fsync=fsync)
    settings = S3Settings(
        endpoint_url=config["S3_ENDPOINT_URL"],
        bucket=config["S3_BUCKET"],
        prefix=config["S3_PREFIX"],
        region=config["S3_REGION"],
        part_size=config["S3_PART_SIZE"],
        buffer_total=config["S3_BUFFER_TOTAL"],
        presigned_downloads=config["S3_PRESIGNED_DOWNLOADS"],
    )
    database = database_location_from(config)
    if database.kind != "postgresql":
        return S3UploadStore(folder, settings, quota=quota, fsync=fsync)
    # Several hosts share the bucket through the database: the quota's ledger and the files'
    # records go there too.
    ledger = SharedLedger(
        folder / META_DIR,
        quota=quota,
        location=database,
        store=f"s3://{settings.bucket}/{settings.prefix}",
    )
    return S3UploadStore(folder, settings, quota=quota, fsync=fsync, ledger=ledger)


def init_app(app: Quart) -> None:
    """Install backpressure and open the upload store when serving starts."""
    install_backpressure(app)
    app.extensions[_LIMITS_KEY] = upload_limits_from(app.config)
    app.extensions[_STORE_KEY] = upload_store_from(app.config)
    app.extensions[_SHUTDOWN_KEY] = Shutdown()
    app.extensions[_RESUMABLE_KEY] = ResumableStore(
        app.extensions[_STORE_KEY],
        limits=app.extensions[_LIMITS_KEY],
        max_size=app.config["TUS_MAX_SIZE"],
        expiry=app.config["TUS_EXPIRY"],
    )
    sweeping: list[asyncio.Task[None]] = []

    @app.before_serving
    async def prepare_upload_store() -> None:
        try:
            await get_upload_store().prepare()
        except UploadError as error:
            reason = root_cause(error)
            raise StartupError(f"the upload store does not answer ({reason})") from error
        except OSError as error:
            raise StartupError(f"the upload folder cannot be prepared ({error})") from error
        sweeping.append(asyncio.ensure_future(_sweep_expired_uploads(app)))

    @app.after_serving
    async def close_upload_store() -> None:
        for task in sweeping:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        sweeping.clear()
        await get_upload_store().close()


async def _sweep_expired_uploads(app: Quart) -> None:
    """Remove expired resumable uploads every ``TUS_SWEEP_INTERVAL`` seconds, in every worker
    (a sweep skips what another is sweeping or writing)."""
    resumable = cast(ResumableStore, app.extensions[_RESUMABLE_KEY])
    while True:
        await asyncio.sleep(app.config["TUS_SWEEP_INTERVAL"])
        try:
            if removed := await resumable.sweep_expired():
                app.logger.info("Removed %d expired resumable uploads", removed)
        except OSError:
            app.logger.exception("Sweeping expired resumable uploads failed")


def begin_shutdown(app: Quart, *, grace: float) -> None:
    """The server is stopping: refuse new uploads, cut off running ones after ``grace`` s."""
    cast(Shutdown, app.extensions[_SHUTDOWN_KEY]).begin(grace)


def get_upload_store() -> FileStore[Any]:
    """The current app's upload store, whichever backend it is."""
    return cast("FileStore[Any]", current_app.extensions[_STORE_KEY])


def get_resumable_store() -> ResumableStore:
    """The current app's resumable (tus) uploads."""
    return cast(ResumableStore, current_app.extensions[_RESUMABLE_KEY])


def get_upload_limits() -> UploadLimits:
    """The current app's per-request upload limits."""
    return cast(UploadLimits, current_app.extensions[_LIMITS_KEY])


def get_upload_shutdown() -> Shutdown:
    """The current app's shutdown notice for uploads."""
    return cast(Shutdown, current_app.extensions[_SHUTDOWN_KEY])
