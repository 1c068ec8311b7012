"""What the stores ask of a database, whichever it is: statements with ``?`` placeholders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from .location import DatabaseLocation

Row = Sequence[Any]


class DatabaseUnavailableError(Exception):
    """The database did not answer (down, unreachable, out of connections, locked too long)."""

    def __init__(self, message: str = "The database is not answering; try again later.") -> None:
        super().__init__(message)
        self.message = message


class Queries(Protocol):
    """Statements, written with ``?`` placeholders for their arguments."""

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Every row the query returns."""
        ...

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        """The query's first row, or None."""
        ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; how many rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run a statement once per row of arguments."""
        ...


class Transaction(Queries, Protocol):
    """Statements that take effect together, or not at all."""

    async def serialize(self) -> None:
        """Wait until no other serialized transaction runs, on any connection or host, and
        keep the others waiting until this one ends (schema changes, one at a time)."""
        ...


class Database(Queries, Protocol):
    """An open database: statements on their own commit at once."""

    location: DatabaseLocation

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Statements committed together when the block ends, rolled back if it raises."""
        ...

    async def close(self) -> None:
        """Close the connections; statements still running end first."""
        ...
