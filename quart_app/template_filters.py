"""Jinja filters that write times the way people read them (sizes use Jinja's filesizeformat)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Final

from markupsafe import Markup, escape

# Invisible characters that change how a name reads: bidi controls (U+202E shows
# "invoice\u202etxt.exe" as "invoiceexe.txt"), zero-width characters, line separators.
_HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp"})
_BACKTICKED: Final = re.compile(r"`([^`]+)`")


def utc_minute(timestamp: float) -> str:
    """A POSIX timestamp as a short UTC date and time: 2024-05-01 14:03 UTC."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso_timestamp(timestamp: float) -> str:
    """A POSIX timestamp in ISO 8601, for <time datetime=...>."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).isoformat(timespec="seconds")


def shown_name(name: str) -> str:
    """A client-supplied name with its invisible characters made visible, as [U+202E]."""
    return "".join(
        f"[U+{ord(char):04X}]" if unicodedata.category(char) in _HIDDEN_CATEGORIES else char
        for char in name
    )


def inline_code(text: str) -> Markup:
    """Escaped text with its `backticked` words as <code>, as the API description writes them."""
    return Markup(_BACKTICKED.sub(r"<code>\1</code>", str(escape(text))))  # noqa: S704 (escaped first)


# Registered by the app factory under these names.
TEMPLATE_FILTERS: dict[str, Callable[..., str]] = {
    "utc_minute": utc_minute,
    "iso_timestamp": iso_timestamp,
    "shown_name": shown_name,
    "inline_code": inline_code,
}
