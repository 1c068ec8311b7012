"""Jinja filters that write times the way people read them (sizes use Jinja's filesizeformat)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable


def utc_minute(timestamp: float) -> str:
    """A POSIX timestamp as a short UTC date and time: 2024-05-01 14:03 UTC."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso_timestamp(timestamp: float) -> str:
    """A POSIX timestamp in ISO 8601, for <time datetime=...>."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).isoformat(timespec="seconds")


# Registered by the app factory under these names.
TEMPLATE_FILTERS: dict[str, Callable[[float], str]] = {
    "utc_minute": utc_minute,
    "iso_timestamp": iso_timestamp,
}
