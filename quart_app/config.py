"""Configuration: the defaults, the development values to override, and the check at start-up."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from flask.config import Config

from .database.location import DatabaseLocation, database_location

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
# A checkout keeps the site's folders beside the package. Installed (`pip install .`), the
# package finds its templates and static files under the environment's share/ and keeps its
# database and uploads under its var/: never inside site-packages, never where it was started.
_IN_A_CHECKOUT: Final = (PROJECT_ROOT / "templates" / "base.html").is_file()
SITE_FILES: Final = PROJECT_ROOT if _IN_A_CHECKOUT else Path(sys.prefix) / "share" / "quart_app"
DATA_ROOT: Final = PROJECT_ROOT if _IN_A_CHECKOUT else Path(sys.prefix) / "var" / "quart_app"

ENVIRONMENT_PREFIX: Final = "QUART"

# Development values: they make the site work out of the box and are reported when in use.
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
        # Each app warns of the development values it uses; `quart-app serve` reports them once
        # for all its workers instead.
        "WARN_DEVELOPMENT_DEFAULTS": True,
        "DATABASE": str(DATA_ROOT / "instance" / "quart_app.sqlite3"),
        # postgresql://… (or sqlite:///…) instead of the DATABASE file: set, it wins.
        "DATABASE_URL": None,
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
        # A lone upload holds this much, so that receiving overlaps writing (docs/performance.md).
        "UPLOAD_BUFFER_SIZE": 1024 * 1024,
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
        # Resumable (tus) uploads at /files/: unfinished ones go this long after creation
        # (null: never), swept this often; the largest one (null: the upload limits alone).
        "TUS_EXPIRY": 24 * 3600,
        "TUS_SWEEP_INTERVAL": 600,
        "TUS_MAX_SIZE": None,
        # Where published files go: "local" (UPLOAD_FOLDER) or "s3" (an S3-compatible store;
        # credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or botocore's other
        # usual places). UPLOAD_FOLDER still holds the quota ledger and tus uploads' state.
        "UPLOAD_STORAGE": "local",
        "S3_ENDPOINT_URL": None,
        "S3_BUCKET": None,
        "S3_PREFIX": "uploads/",
        "S3_REGION": "us-east-1",
        "S3_PRESIGNED_DOWNLOADS": False,
        # Multipart parts (S3's minimum is 5 MiB) and the part buffers one worker holds for
        # all its uploads together (past them, uploads and their clients wait): 5 MiB parts,
        # two per worker, grew the burst of 64 uploads by 61 MiB where 8 MiB parts three at a
        # time took 99 MiB, at the same rate (docs/performance.md).
        "S3_PART_SIZE": 5 * 1024 * 1024,
        "S3_BUFFER_TOTAL": 10 * 1024 * 1024,
    }


def development_defaults_in_use(config: Mapping[str, Any]) -> list[str]:
    """Name the settings that still hold their development value."""
    return [key for key, value in DEV_DEFAULTS.items() if config.get(key) == value]


class SettingsError(ValueError):
    """A setting holds a value of the wrong kind; the message names it and what it expects."""


@dataclass(frozen=True)
class _Expected:
    """What one setting accepts, in words for the message and as a check."""

    words: str
    accepts: Callable[[object], bool]


def _text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _boolean(value: object) -> bool:
    return isinstance(value, bool)


def _whole(minimum: int) -> Callable[[object], bool]:
    def accepts(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= minimum

    return accepts


def _positive_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _names(value: object) -> bool:
    if value is None or isinstance(value, str):
        return True
    return isinstance(value, list | tuple) and all(isinstance(name, str) for name in value)


def _database_url(value: object) -> bool:
    if not isinstance(value, str) or "://" not in value:
        return False
    try:
        database_location(value)
    except ValueError:
        return False
    return True


def _optional(accepts: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: value is None or accepts(value)


def _one_of(*choices: str) -> Callable[[object], bool]:
    return lambda value: value in choices


def _any_text(value: object) -> bool:
    return isinstance(value, str)


_S3_MIN_PART: Final = 5 * 1024 * 1024
_S3_MAX_PARTS: Final = 10_000


_TEXT: Final = _Expected("non-empty text", _text)
_BOOLEAN: Final = _Expected("true or false", _boolean)
_COUNT: Final = _Expected("a whole number, 0 or more", _whole(0))
_AT_LEAST_ONE: Final = _Expected("a whole number, 1 or more", _whole(1))
_SECONDS: Final = _Expected("a number of seconds above 0", _positive_number)
_SECONDS_OR_NONE: Final = _Expected(
    "a number of seconds above 0, or null for never", _optional(_positive_number)
)
_BYTES_OR_NONE: Final = _Expected("a number of bytes, or null for no limit", _optional(_whole(0)))
_STORAGE: Final = _Expected('"local" or "s3"', _one_of("local", "s3"))
_TEXT_OR_NONE: Final = _Expected("non-empty text, or null", _optional(_text))
_DATABASE_URL: Final = _Expected(
    "a postgresql://user:password@host:port/name or sqlite:///path URL, or null",
    _optional(_database_url),
)
_ANY_TEXT: Final = _Expected("text (may be empty)", _any_text)
_PART_BYTES: Final = _Expected(
    f"a number of bytes, {_S3_MIN_PART} (5 MiB, S3's minimum part) or more", _whole(_S3_MIN_PART)
)
_NAMES: Final = _Expected(
    'a JSON list of names such as \'["txt", "csv"]\', or null for any', _names
)

# Every setting the README's configuration table lists, and what it accepts.
_EXPECTED: Final[Mapping[str, _Expected]] = {
    "SECRET_KEY": _TEXT,
    "API_KEY": _TEXT,
    "DEMO_PASSWORD": _TEXT,
    "WARN_DEVELOPMENT_DEFAULTS": _BOOLEAN,
    "DATABASE": _TEXT,
    "DATABASE_URL": _DATABASE_URL,
    "SEED_DEMO_USERS": _BOOLEAN,
    "UPLOAD_FOLDER": _TEXT,
    "MAX_CONTENT_LENGTH": _BYTES_OR_NONE,
    "UPLOAD_MAX_REQUEST_SIZE": _COUNT,
    "UPLOAD_MAX_FILE_SIZE": _COUNT,
    "UPLOAD_MAX_FILES": _COUNT,
    "UPLOAD_MAX_FIELDS": _COUNT,
    "UPLOAD_QUOTA": _BYTES_OR_NONE,
    "UPLOAD_ALLOWED_EXTENSIONS": _NAMES,
    "UPLOAD_ALLOWED_CONTENT_TYPES": _NAMES,
    "UPLOAD_IDLE_TIMEOUT": _SECONDS,
    "UPLOAD_FSYNC": _BOOLEAN,
    "UPLOAD_BUFFER_SIZE": _AT_LEAST_ONE,
    "UPLOAD_BUFFER_TOTAL": _AT_LEAST_ONE,
    "UPLOADS_PER_PAGE": _AT_LEAST_ONE,
    "UPLOAD_PARALLEL_UPLOADS": _AT_LEAST_ONE,
    "SESSION_COOKIE_SECURE": _BOOLEAN,
    "USERNAME_COOKIE_MAX_AGE": _COUNT,
    "FORM_MAX_SIZE": _AT_LEAST_ONE,
    "SIGN_IN_MAX_FAILURES": _AT_LEAST_ONE,
    "SIGN_IN_MAX_FAILURES_PER_ADDRESS": _AT_LEAST_ONE,
    "SIGN_IN_FAILURE_WINDOW": _SECONDS,
    "TUS_EXPIRY": _SECONDS_OR_NONE,
    "TUS_SWEEP_INTERVAL": _SECONDS,
    "TUS_MAX_SIZE": _BYTES_OR_NONE,
    "UPLOAD_STORAGE": _STORAGE,
    "S3_ENDPOINT_URL": _TEXT_OR_NONE,
    "S3_BUCKET": _TEXT_OR_NONE,
    "S3_PREFIX": _ANY_TEXT,
    "S3_REGION": _TEXT,
    "S3_PRESIGNED_DOWNLOADS": _BOOLEAN,
    "S3_PART_SIZE": _PART_BYTES,
    "S3_BUFFER_TOTAL": _AT_LEAST_ONE,
}


def check_settings(config: Mapping[str, Any]) -> None:
    """Raise SettingsError for the first setting whose value is not of the kind it needs."""
    for name, expected in _EXPECTED.items():
        value = config.get(name)
        if not expected.accepts(value):
            raise SettingsError(
                f"{ENVIRONMENT_PREFIX}_{name} must be {expected.words}, not {value!r}."
            )
    if config.get("UPLOAD_STORAGE") == "s3":
        if not config.get("S3_BUCKET"):
            raise SettingsError(
                f"{ENVIRONMENT_PREFIX}_S3_BUCKET must name a bucket when "
                f"{ENVIRONMENT_PREFIX}_UPLOAD_STORAGE is s3."
            )
        largest = max(config["UPLOAD_MAX_FILE_SIZE"], config.get("TUS_MAX_SIZE") or 0)
        if largest > _S3_MAX_PARTS * config["S3_PART_SIZE"]:
            raise SettingsError(
                f"{ENVIRONMENT_PREFIX}_S3_PART_SIZE must be at least 1/{_S3_MAX_PARTS} of the"
                f" largest upload ({largest} bytes): S3 takes at most {_S3_MAX_PARTS} parts."
            )
        if config["S3_BUFFER_TOTAL"] < config["S3_PART_SIZE"]:
            raise SettingsError(
                f"{ENVIRONMENT_PREFIX}_S3_BUFFER_TOTAL must hold at least one part "
                f"({ENVIRONMENT_PREFIX}_S3_PART_SIZE, {config['S3_PART_SIZE']} bytes)."
            )


def load_settings(config: Config, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill `config`: the defaults, then QUART_* environment variables, then `overrides`;
    then check every setting (SettingsError)."""
    config.update(default_config())
    config.from_prefixed_env(ENVIRONMENT_PREFIX)
    if overrides:
        config.update(overrides)
    check_settings(config)


def settings_from_environment() -> Config:
    """The settings an app started now would have (SettingsError if one is wrong)."""
    config = Config(PROJECT_ROOT)
    load_settings(config)
    return config


def database_location_from(config: Mapping[str, Any]) -> DatabaseLocation:
    """The database the settings name: ``DATABASE_URL`` if set, else the ``DATABASE`` file."""
    return database_location(config.get("DATABASE_URL") or config["DATABASE"])
