"""Configuration defaults and the development values that must be overridden in production."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Final

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
# A checkout keeps the site's folders beside the package. Installed (`pip install .`), the
# package finds its templates and static files under the environment's share/ and keeps its
# database and uploads under its var/: never inside site-packages, never where it was started.
_IN_A_CHECKOUT: Final = (PROJECT_ROOT / "templates").is_dir()
SITE_FILES: Final = PROJECT_ROOT if _IN_A_CHECKOUT else Path(sys.prefix) / "share" / "quart_app"
DATA_ROOT: Final = PROJECT_ROOT if _IN_A_CHECKOUT else Path(sys.prefix) / "var" / "quart_app"

# Development values: they make the site work out of the box and are logged loudly when in use.
DEV_SECRET_KEY = "dev-secret-key-not-for-production"  # noqa: S105 (documented dev value)
DEV_API_KEY = "pA55w0Rd"
DEV_DEMO_PASSWORD = "monty-python"  # noqa: S105 (documented dev value)

DEV_DEFAULTS = {
    "SECRET_KEY": DEV_SECRET_KEY,
    "API_KEY": DEV_API_KEY,
    "DEMO_PASSWORD": DEV_DEMO_PASSWORD,
}


def default_config() -> dict[str, Any]:
    """Return the safe defaults every app starts from."""
    return {
        **DEV_DEFAULTS,
        "DATABASE": str(DATA_ROOT / "instance" / "quart_app.sqlite3"),
        "SEED_DEMO_USERS": True,
        "UPLOAD_FOLDER": str(DATA_ROOT / "uploads"),
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        # Uploads stream past MAX_CONTENT_LENGTH; these limits govern them instead.
        "UPLOAD_MAX_REQUEST_SIZE": 4 * 1024**3,
        "UPLOAD_MAX_FILE_SIZE": 4 * 1024**3,
        "UPLOAD_MAX_FILES": 100,
        "UPLOAD_MAX_FIELDS": 100,
        "UPLOAD_QUOTA": None,
        "UPLOAD_ALLOWED_EXTENSIONS": None,
        "UPLOAD_ALLOWED_CONTENT_TYPES": None,
        "UPLOAD_IDLE_TIMEOUT": 30.0,
        "UPLOAD_FSYNC": True,
        "UPLOAD_BUFFER_SIZE": 256 * 1024,
        # Shared by the uploads streaming in one worker: many at once get less each.
        "UPLOAD_BUFFER_TOTAL": 4 * 1024 * 1024,
        "UPLOADS_PER_PAGE": 50,
        "SESSION_COOKIE_NAME": "quart_app_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "USERNAME_COOKIE_MAX_AGE": 30 * 24 * 3600,
        # The site's own forms (sign-in, sign-out, delete) are small: refuse more (413).
        "FORM_MAX_SIZE": 16 * 1024,
        # Wrong passwords allowed within the window, per account and per client address;
        # past them, sign-ins answer 429 with Retry-After until the window moves on.
        "SIGN_IN_MAX_FAILURES": 5,
        "SIGN_IN_MAX_FAILURES_PER_ADDRESS": 20,
        "SIGN_IN_FAILURE_WINDOW": 15 * 60,
        # How many files the upload page sends at once; each file is its own request.
        "UPLOAD_PARALLEL_UPLOADS": 3,
    }


def development_defaults_in_use(config: dict[str, Any]) -> list[str]:
    """Name the settings that still hold their development value."""
    return [key for key, value in DEV_DEFAULTS.items() if config.get(key) == value]
