"""The upload quota's ledger in PostgreSQL, shared by every host storing into one bucket.

The file ledger's lock becomes a PostgreSQL advisory lock (one per store, held on a connection
of the ledger's own pool, released by the server if that connection is lost), and its total
becomes two tables: the bytes published, one row per store, and the bytes each host (each state
folder) has reserved for its unfinished resumable uploads, one row per host. A host's recount
sets the published bytes from the bucket's listing and only its own reservations, so that it
never forgets another host's. The engine calls the blocking methods from worker threads; they
run their statements on the event loop the ledger started on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import secrets
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

from .database import DatabaseLocation, DatabaseUnavailableError, Queries, migrate
from .database.postgresql_database import LockedConnection, PostgreSQLDatabase
from .upload_engine import StorageUnavailableError
from .upload_engine.durable_files import write_new
from .upload_engine.errors import InsufficientStorageError
from .upload_engine.ledger import UsageLedger
from .upload_engine.stored_files import StoredFile, StoredPage

T = TypeVar("T")

log = logging.getLogger("quart_app.shared_ledger")

_HOLDER_FILE: Final = ".holder"
# Each worker's ledger holds at most one connection for the lock and one for a read.
_CONNECTIONS: Final = 2


class SharedLedger(UsageLedger):
    """A store's ledger and catalog in PostgreSQL, named by ``store`` (bucket and prefix)."""

    keeps_catalog = True

    def __init__(
        self, meta_dir: Path, *, quota: int | None, location: DatabaseLocation, store: str
    ) -> None:
        super().__init__(meta_dir, quota=quota)
        self.location = location
        self.store = store
        self._key = int.from_bytes(hashlib.sha256(store.encode()).digest()[:8], signed=True)
        self._database: PostgreSQLDatabase | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._holder = ""
        # One hold of the advisory lock per process at a time: the others wait here, not on
        # connections of the pool.
        self._turn = asyncio.Lock()
        self._held: LockedConnection | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._holder = await asyncio.to_thread(self._holder_id)
        try:
            database = await PostgreSQLDatabase.open(self.location, max_connections=_CONNECTIONS)
        except DatabaseUnavailableError as error:
            raise StorageUnavailableError() from error
        try:
            with _unavailable_as_storage_error():
                await migrate(database)
        except BaseException:
            await database.close()
            raise
        self._database = database

    async def stop(self) -> None:
        if self._database is not None:
            await self._database.close()
            self._database = None

    def _holder_id(self) -> str:
        """This state folder's name in the ledger, made once and kept in the folder."""
        path = self.meta_dir / _HOLDER_FILE
        if not path.exists():
            # Written aside and linked into place: a worker starting beside this one reads
            # either no file or the whole name, and the first link wins.
            draft = self.meta_dir / f"{_HOLDER_FILE}.{secrets.token_hex(8)}"
            write_new(draft, secrets.token_hex(8).encode(), fsync=True)
            try:
                with contextlib.suppress(FileExistsError):
                    os.link(draft, path)
            finally:
                draft.unlink(missing_ok=True)
        return path.read_text().strip()

    @property
    def _db(self) -> PostgreSQLDatabase:
        if self._database is None:
            raise RuntimeError("SharedLedger.start() has not been awaited")
        return self._database

    # The lock

    async def _take(self) -> None:
        await self._turn.acquire()
        try:
            with _unavailable_as_storage_error():
                self._held = await self._db.lock(self._key)
        except BaseException:
            self._turn.release()
            raise

    async def _give_back(self) -> None:
        held, self._held = self._held, None
        try:
            if held is not None:
                await held.unlock()
        finally:
            self._turn.release()

    @asynccontextmanager
    async def locked_from_loop(self, *, shared: bool = False) -> AsyncIterator[None]:
        # A shared hold only kept a reader from a half-written file; a row is never half
        # written, so readers need no lock here.
        if shared:
            yield
            return
        await self._take()
        try:
            yield
        finally:
            await asyncio.shield(self._give_back())

    @contextmanager
    def locked(self, *, shared: bool = False) -> Iterator[None]:
        if shared:
            yield
            return
        self._on_loop(self._take())
        try:
            yield
        finally:
            self._on_loop(self._give_back())

    def _on_loop(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the ledger's loop from a worker thread and wait for it."""
        assert self._loop is not None, "SharedLedger.start() has not been awaited"
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    # The total

    async def total(self) -> int:
        return await self._total_from(self._locked_queries())

    async def _total_from(self, queries: Queries) -> int:
        with _unavailable_as_storage_error():
            published = await queries.fetch_one(
                "SELECT published FROM upload_usage WHERE store = ?", self.store
            )
            reserved = await queries.fetch_one(
                "SELECT COALESCE(SUM(GREATEST(reserved, 0)), 0) FROM upload_reservations"
                " WHERE store = ?",
                self.store,
            )
        self.used = max(int(published[0]) if published else 0, 0) + int(
            reserved[0] if reserved else 0
        )
        return self.used

    def read(self) -> int:
        return self._on_loop(self.total())

    def read_shared(self) -> int:
        # Not on the lock holder's connection, which only its holder may use.
        return self._on_loop(self._total_from(self._db))

    def write(self, total: int) -> None:
        raise NotImplementedError("the shared ledger records changes, not totals")

    async def record_publication(
        self, used: int, files: Sequence[StoredFile], consumed: int
    ) -> None:
        published = sum(file.size for file in files)
        with _unavailable_as_storage_error():
            async with self._locked_queries().transaction() as queries:
                await queries.execute_many(_RECORD_FILE, [_row(self.store, f) for f in files])
                await _add_published(queries, self.store, published)
                await _add_reserved(queries, self.store, self._holder, -consumed)
        self.used = used + published - consumed

    async def record_deletion(self, file: StoredFile) -> None:
        with _unavailable_as_storage_error():
            async with self._locked_queries().transaction() as queries:
                await queries.execute(
                    "DELETE FROM stored_files WHERE store = ? AND name = ?", self.store, file.name
                )
                await _add_published(queries, self.store, -file.size)
        self.used = max(self.used - file.size, 0)

    async def recount(
        self,
        objects: Mapping[str, int],
        record_of: Callable[[str], Awaitable[StoredFile | None]],
    ) -> list[str]:
        """Bring the catalog in line with the objects found now: forget the records whose
        object is gone (a delete interrupted), adopt the objects the bucket has a record of
        (stored before the catalog), and return the rest for removal (left by a delete or
        a commit interrupted); then count."""
        reserved = await asyncio.to_thread(self.reserved_total)
        with _unavailable_as_storage_error():
            queries = self._locked_queries()
            rows = await queries.fetch(
                "SELECT name, size FROM stored_files WHERE store = ?", self.store
            )
        recorded = {str(name): int(size) for name, size in rows}
        gone = [name for name in recorded if name not in objects]
        adopted, orphans = [], []
        for name in (name for name in objects if name not in recorded):
            record = await record_of(name)
            if record is None:
                orphans.append(name)
            else:
                adopted.append(record)
        if gone:
            log.warning("Forgetting %d stored files whose objects are gone", len(gone))
        if adopted:
            log.warning("Adding %d stored files from their records in the bucket", len(adopted))
        published = sum(size for name, size in recorded.items() if name in objects)
        published += sum(file.size for file in adopted)
        with _unavailable_as_storage_error():
            async with queries.transaction() as changes:
                await changes.execute_many(
                    "DELETE FROM stored_files WHERE store = ? AND name = ?",
                    [(self.store, name) for name in gone],
                )
                await changes.execute_many(_RECORD_FILE, [_row(self.store, f) for f in adopted])
                await changes.execute(
                    "INSERT INTO upload_usage (store, published) VALUES (?, ?)"
                    " ON CONFLICT (store) DO UPDATE SET published = excluded.published",
                    self.store,
                    published,
                )
                await changes.execute(
                    "INSERT INTO upload_reservations (store, holder, reserved) VALUES (?, ?, ?)"
                    " ON CONFLICT (store, holder) DO UPDATE SET reserved = excluded.reserved",
                    self.store,
                    self._holder,
                    reserved,
                )
        await self.total()
        return orphans

    async def describe(self, name: str) -> StoredFile | None:
        with _unavailable_as_storage_error():
            row = await self._db.fetch_one(f"{_SELECT_FILES} AND name = ?", self.store, name)
        return None if row is None else _stored_file(row)

    async def page(self, page: int, per_page: int) -> StoredPage:
        with _unavailable_as_storage_error():
            rows = await self._db.fetch(
                f"{_SELECT_FILES} ORDER BY created DESC, name LIMIT ? OFFSET ?",
                self.store,
                per_page,
                (page - 1) * per_page,
            )
            counted = await self._db.fetch_one(
                "SELECT COUNT(*) FROM stored_files WHERE store = ?", self.store
            )
        total = int(counted[0]) if counted else 0
        return StoredPage(
            files=[_stored_file(row) for row in rows],
            page=page,
            pages=max(math.ceil(total / per_page), 1),
            total=total,
        )

    def reserve_blocking(self, extra_bytes: int, record: Callable[[], None]) -> None:
        with self.locked():
            used = self.read()
            if extra_bytes > 0 and self.exceeds_quota(used, extra_bytes):
                raise InsufficientStorageError("The upload would exceed the storage quota.")
            record()
            self._on_loop(self._reserve(extra_bytes))

    async def _reserve(self, extra_bytes: int) -> None:
        with _unavailable_as_storage_error():
            await _add_reserved(self._locked_queries(), self.store, self._holder, extra_bytes)
        self.used = max(self.used + extra_bytes, 0)

    def _locked_queries(self) -> LockedConnection:
        assert self._held is not None, "the ledger's lock is not held"
        return self._held


_SELECT_FILES: Final = (
    "SELECT name, original_name, size, sha256, content_type, created FROM stored_files"
    " WHERE store = ?"
)
# A record whose object was lost to a crash may hold the name a new file now takes.
_RECORD_FILE: Final = (
    "INSERT INTO stored_files"
    " (store, name, original_name, size, sha256, content_type, created)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (store, name) DO UPDATE SET original_name = excluded.original_name,"
    " size = excluded.size, sha256 = excluded.sha256, content_type = excluded.content_type,"
    " created = excluded.created"
)


def _row(store: str, file: StoredFile) -> tuple[object, ...]:
    return (
        store,
        file.name,
        file.original_name,
        file.size,
        file.sha256,
        file.content_type,
        file.created,
    )


def _stored_file(row: Sequence[Any]) -> StoredFile:
    name, original_name, size, sha256, content_type, created = row
    return StoredFile(
        name=str(name),
        original_name=str(original_name),
        size=int(size),
        sha256=str(sha256),
        content_type=str(content_type),
        created=float(created),
    )


async def _add_published(queries: Queries, store: str, change: int) -> None:
    await queries.execute(
        "INSERT INTO upload_usage (store, published) VALUES (?, GREATEST(?, 0))"
        " ON CONFLICT (store) DO UPDATE"
        " SET published = GREATEST(upload_usage.published + ?, 0)",
        store,
        change,
        change,
    )


async def _add_reserved(queries: Queries, store: str, holder: str, change: int) -> None:
    await queries.execute(
        "INSERT INTO upload_reservations (store, holder, reserved) VALUES (?, ?, GREATEST(?, 0))"
        " ON CONFLICT (store, holder) DO UPDATE"
        " SET reserved = GREATEST(upload_reservations.reserved + ?, 0)",
        store,
        holder,
        change,
        change,
    )


@contextmanager
def _unavailable_as_storage_error() -> Iterator[None]:
    try:
        yield
    except DatabaseUnavailableError as error:
        raise StorageUnavailableError() from error
