"""PostgreSQL through asyncpg: a pool of connections per worker."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .location import DatabaseLocation
from .queries import DatabaseUnavailableError, Queries, Row, Transaction

_CONNECT_SECONDS: Final = 10.0
# A statement that runs longer is abandoned: the request answers 503 rather than hang.
_STATEMENT_SECONDS: Final = 30.0
_CLOSE_SECONDS: Final = 10.0
_POOL_MIN: Final = 1
_POOL_MAX: Final = 10
# The key of the advisory lock that serialized transactions hold (any fixed 64-bit number).
_SERIALIZE_KEY: Final = 0x71A27A99
_PLACEHOLDER: Final = re.compile(r"\?")
# A command tag ends with the number of rows it touched ("INSERT 0 1", "UPDATE 3").
_ROW_COUNT: Final = re.compile(r"(\d+)$")

# The server is down, restarting, unreachable or out of connections: not the statement's fault.
_UNAVAILABLE: Final = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1``, ``$2``, … (the app's SQL has no ``?`` in
    literals)."""
    count = 0

    def number(_match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql)


def _row_count(status: str) -> int:
    match = _ROW_COUNT.search(status)
    return int(match.group(1)) if match else 0


@contextmanager
def _unavailable_when_unreachable() -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as error:
        raise DatabaseUnavailableError() from error


class _Statements:
    """Statements on the pool (each on a connection it lends) or on one of its connections."""

    def __init__(self, executor: asyncpg.Pool[Any] | PoolConnectionProxy[Any]) -> None:
        self._executor = executor

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        with _unavailable_when_unreachable():
            rows = await self._executor.fetch(_numbered(sql), *args)
        return [tuple(row) for row in rows]

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        with _unavailable_when_unreachable():
            row = await self._executor.fetchrow(_numbered(sql), *args)
        return tuple(row) if row is not None else None

    async def execute(self, sql: str, *args: Any) -> int:
        with _unavailable_when_unreachable():
            return _row_count(await self._executor.execute(_numbered(sql), *args))

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with _unavailable_when_unreachable():
            await self._executor.executemany(_numbered(sql), rows)


class _TransactionStatements(_Statements):
    async def serialize(self) -> None:
        await self.execute("SELECT pg_advisory_xact_lock(?)", _SERIALIZE_KEY)


class LockedConnection(_Statements):
    """A connection of the pool's holding a session advisory lock, lent until ``unlock()``."""

    def __init__(
        self, pool: asyncpg.Pool[Any], connection: PoolConnectionProxy[Any], key: int
    ) -> None:
        super().__init__(connection)
        self._pool = pool
        self._connection = connection
        self._key = key

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        """Statements on this connection committed together."""
        with _unavailable_when_unreachable():
            async with self._connection.transaction():
                yield self

    async def unlock(self) -> None:
        """Release the lock and give the connection back (whose reset releases the lock too,
        should the unlock fail; a connection lost took the lock with it)."""
        try:
            with contextlib.suppress(*_UNAVAILABLE):
                await self._connection.execute("SELECT pg_advisory_unlock($1)", self._key)
        finally:
            await self._pool.release(self._connection)


class PostgreSQLDatabase(_Statements):
    """A PostgreSQL database reached through a pool of connections."""

    def __init__(self, location: DatabaseLocation, pool: asyncpg.Pool[Any]) -> None:
        super().__init__(pool)
        self.location = location
        self._pool = pool

    @classmethod
    async def open(
        cls, location: DatabaseLocation, *, max_connections: int = _POOL_MAX
    ) -> PostgreSQLDatabase:
        """Open the pool (and its first connection: DatabaseUnavailableError if it fails)."""
        with _unavailable_when_unreachable():
            pool = await asyncpg.create_pool(
                location.target,
                min_size=_POOL_MIN,
                max_size=max_connections,
                timeout=_CONNECT_SECONDS,
                command_timeout=_STATEMENT_SECONDS,
            )
        return cls(location, pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        with _unavailable_when_unreachable():
            async with self._pool.acquire() as connection, connection.transaction():
                yield _TransactionStatements(connection)

    async def lock(self, key: int) -> LockedConnection:
        """Wait for the advisory lock ``key``, held for every connection to this server (any
        host), on a connection that stays lent to the holder until it unlocks."""
        with _unavailable_when_unreachable():
            connection = await self._pool.acquire()
        try:
            with _unavailable_when_unreachable():
                await connection.execute("SELECT pg_advisory_lock($1)", key)
        except BaseException:
            await self._pool.release(connection)
            raise
        return LockedConnection(self._pool, connection, key)

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._pool.close(), _CLOSE_SECONDS)
        except TimeoutError:
            # A statement still holds its connection past the shutdown's patience.
            self._pool.terminate()
