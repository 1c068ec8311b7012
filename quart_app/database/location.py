"""Where the database is: a SQLite file (a path or ``sqlite:///path``) or a PostgreSQL URL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit, urlunsplit

_POSTGRESQL_SCHEMES: Final = ("postgresql://", "postgres://")
_SQLITE_SCHEME: Final = "sqlite:///"


@dataclass(frozen=True)
class DatabaseLocation:
    """A database's kind and where to reach it: a file path, or a PostgreSQL connection URL."""

    kind: Literal["sqlite", "postgresql"]
    target: str

    def describe(self) -> str:
        """The location to show in logs and messages: a PostgreSQL URL without its password."""
        if self.kind == "sqlite":
            return self.target
        parts = urlsplit(self.target)
        if parts.password is None:
            return self.target
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def database_location(value: str | Path) -> DatabaseLocation:
    """Read ``value``: ``postgresql://…`` (or ``postgres://…``), ``sqlite:///relative/path``,
    ``sqlite:////absolute/path``, or a plain path; ValueError for another scheme."""
    text = str(value)
    if text.startswith(_POSTGRESQL_SCHEMES):
        if not urlsplit(text).hostname and "host=" not in text:
            raise ValueError(f"the PostgreSQL URL names no host: {text!r}")
        return DatabaseLocation("postgresql", text)
    if text.startswith(_SQLITE_SCHEME):
        path = text.removeprefix(_SQLITE_SCHEME)
        if not path:
            raise ValueError(f"the SQLite URL names no file: {text!r}")
        return DatabaseLocation("sqlite", path)
    if "://" in text:
        raise ValueError(f"unsupported database URL (sqlite:/// or postgresql://): {text!r}")
    return DatabaseLocation("sqlite", text)
