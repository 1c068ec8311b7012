"""SQLite through aiosqlite: one connection per worker, shared by its requests in turn."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Final

import aiosqlite

from .location import DatabaseLocation
from .queries import DatabaseUnavailableError, Row, Transaction

_BUSY_TIMEOUT_SECONDS: Final = 30.0
_LOCKED_RETRY_SECONDS: Final = 0.05


# Errors of the file, not of the statement: the database cannot answer now.
_UNAVAILABLE: Final = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_PROTOCOL",
)


@contextmanager
def _unavailable_when_locked_or_unreadable() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as error:
        if str(getattr(error, "sqlite_errorname", "")).startswith(_UNAVAILABLE):
            raise DatabaseUnavailableError() from error
        raise


class _Statements:
    """Statements on the connection; the caller holds the database's turn."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        with _unavailable_when_locked_or_unreadable():
            async with self._connection.execute(sql, args) as cursor:
                return [tuple(row) for row in await cursor.fetchall()]

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        with _unavailable_when_locked_or_unreadable():
            async with self._connection.execute(sql, args) as cursor:
                row = await cursor.fetchone()
        return tuple(row) if row is not None else None

    async def execute(self, sql: str, *args: Any) -> int:
        with _unavailable_when_locked_or_unreadable():
            async with self._connection.execute(sql, args) as cursor:
                return max(cursor.rowcount, 0)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with _unavailable_when_locked_or_unreadable():
            await self._connection.executemany(sql, rows)


class _SQLiteTransaction(_Statements):
    async def serialize(self) -> None:
        # BEGIN IMMEDIATE has taken the file's write lock: writers on other connections wait.
        return None


class SQLiteDatabase:
    """A SQLite file (or ``:memory:``), opened in autocommit mode with write-ahead logging."""

    def __init__(self, location: DatabaseLocation, connection: aiosqlite.Connection) -> None:
        self.location = location
        self._connection = connection
        self._statements = _Statements(connection)
        # One connection serves every request of the worker: a transaction must not take in
        # another request's statements, so each statement and transaction waits its turn.
        self._turn = asyncio.Lock()

    @classmethod
    async def open(cls, location: DatabaseLocation) -> SQLiteDatabase:
        """Connect, creating the file and its folder if missing."""
        path = location.target
        if path != ":memory:":
            await asyncio.to_thread(Path(path).parent.mkdir, parents=True, exist_ok=True)
        # Several Hypercorn workers share the file: wait for each other's writes rather than
        # fail, and let readers go on while one of them writes.
        connection = await aiosqlite.connect(
            path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None
        )
        try:
            await _use_write_ahead_log(connection)
            await connection.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            await connection.close()
            raise
        return cls(location, connection)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._turn:
            return await self._statements.fetch(sql, *args)

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        async with self._turn:
            return await self._statements.fetch_one(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._turn:
            return await self._statements.execute(sql, *args)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._turn:
            await self._statements.execute_many(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._turn:
            with _unavailable_when_locked_or_unreadable():
                await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteTransaction(self._connection)
            except BaseException:
                await self._connection.execute("ROLLBACK")
                raise
            with _unavailable_when_locked_or_unreadable():
                await self._connection.execute("COMMIT")

    async def close(self) -> None:
        async with self._turn:
            await self._connection.close()


async def _use_write_ahead_log(connection: aiosqlite.Connection) -> None:
    # SQLite answers "locked" at once, without waiting, when another connection holds a
    # write (another worker seeding a fresh database): wait for it as a busy write would.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _BUSY_TIMEOUT_SECONDS
    while True:
        try:
            await connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or loop.time() > deadline:
                raise
        await asyncio.sleep(_LOCKED_RETRY_SECONDS)
