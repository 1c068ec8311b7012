"""What `quart-app serve` says once when it starts: where the site is and how to sign in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .config import ENVIRONMENT_PREFIX, database_location_from, development_defaults_in_use
from .users_store import DEMO_USERS
from .version import VERSION


def _listed(names: Sequence[str], last_word: str) -> str:
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {last_word} {names[-1]}"


def _source(setting: str, value: str, defaults: Sequence[str]) -> str:
    """Say a secret's value if it is the documented development one, else where it is set."""
    variable = f"{ENVIRONMENT_PREFIX}_{setting}"
    if setting in defaults:
        return f"{value} (the development default; {variable} sets another)"
    return f"the value of {variable}"


def startup_report(settings: Mapping[str, Any], *, urls: Sequence[str], workers: int) -> str:
    """The start-up block: the site's address, the demo users, the key, the defaults in use."""
    defaults = development_defaults_in_use(settings)
    site = urls[0] if urls else "(no address)"
    plural = "s" if workers != 1 else ""
    lines = [
        f"quart_app {VERSION} serves {_listed(list(urls), 'and')} with {workers} worker{plural};"
        " Ctrl-C stops it.",
    ]
    if settings["SEED_DEMO_USERS"]:
        users = _listed([username for username, _, _ in DEMO_USERS], "or")
        password = _source("DEMO_PASSWORD", settings["DEMO_PASSWORD"], defaults)
        lines.append(
            f"Sign in at {site}/login as {users} (demo users, added when the database has no"
            f" users) with the password {password}."
        )
    else:
        lines.append(f"No demo users are added ({ENVIRONMENT_PREFIX}_SEED_DEMO_USERS is false).")
    key = _source("API_KEY", settings["API_KEY"], defaults)
    lines.append(f"API clients send the header X-API-Key with {key}.")
    if defaults:
        variables = [f"{ENVIRONMENT_PREFIX}_{setting}" for setting in defaults]
        lines.append(
            f"Development defaults in use: {_listed(defaults, 'and')}. Set"
            f" {_listed(variables, 'and')} before serving anyone but yourself."
        )
    location = database_location_from(settings)
    database = location.describe()
    if settings["UPLOAD_STORAGE"] == "s3":
        endpoint = settings["S3_ENDPOINT_URL"] or "AWS"
        bucket = f"s3://{settings['S3_BUCKET']}/{settings['S3_PREFIX']}"
        if location.kind == "postgresql":
            ledger = "their quota ledger in the database, unfinished uploads in"
        else:
            ledger = "their quota ledger and unfinished uploads in"
        lines.append(
            f"Database {database}; uploads in {bucket} at {endpoint}, {ledger}"
            f" {settings['UPLOAD_FOLDER']}."
        )
    else:
        lines.append(f"Database {database}; uploads in {settings['UPLOAD_FOLDER']}.")
    return "\n    ".join(lines)
