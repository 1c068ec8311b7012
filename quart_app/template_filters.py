"""Jinja filters that write numbers the way people read them: file sizes and times."""

from __future__ import annotations

import datetime as dt

from quart import Quart

_SIZE_UNITS = ("kB", "MB", "GB", "TB")


def human_size(size: int) -> str:
    """Write a byte count in decimal units, as the upload page's script does: 1.4 MB."""
    value, unit = float(size), "bytes"
    for larger in _SIZE_UNITS:
        if value < 1000:
            break
        value, unit = value / 1000, larger
    if unit == "bytes":
        return f"{size:,} bytes"
    return f"{round(value, 1):g} {unit}"


def utc_datetime(timestamp: float) -> dt.datetime:
    """The UTC moment of a POSIX timestamp."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)


def utc_minute(timestamp: float) -> str:
    """A POSIX timestamp as a short UTC date and time: 2024-05-01 14:03 UTC."""
    return utc_datetime(timestamp).strftime("%Y-%m-%d %H:%M UTC")


def iso_timestamp(timestamp: float) -> str:
    """A POSIX timestamp in ISO 8601, for <time datetime=...>."""
    return utc_datetime(timestamp).isoformat(timespec="seconds")


def register_template_filters(app: Quart) -> None:
    """Make the filters available to every template."""
    app.add_template_filter(human_size, "human_size")
    app.add_template_filter(utc_minute, "utc_minute")
    app.add_template_filter(iso_timestamp, "iso_timestamp")
