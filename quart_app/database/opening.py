"""Opening the database a location names."""

from __future__ import annotations

from .location import DatabaseLocation
from .postgresql_database import PostgreSQLDatabase
from .queries import Database
from .sqlite_database import SQLiteDatabase


async def open_database(location: DatabaseLocation) -> Database:
    """Connect to the database (DatabaseUnavailableError if PostgreSQL does not answer)."""
    if location.kind == "postgresql":
        return await PostgreSQLDatabase.open(location)
    return await SQLiteDatabase.open(location)
