"""The app's database: SQLite through aiosqlite on one host, PostgreSQL through asyncpg for
several; one schema, kept by ordered SQL migrations."""

from __future__ import annotations

from .location import DatabaseLocation, database_location
from .migrations import migrate
from .opening import open_database
from .queries import Database, DatabaseUnavailableError, Queries, Row

__all__ = [
    "Database",
    "DatabaseLocation",
    "DatabaseUnavailableError",
    "Queries",
    "Row",
    "database_location",
    "migrate",
    "open_database",
]
