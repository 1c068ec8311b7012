"""The user store: join dates, awards, password hashes, session generations and failed sign-ins,
in SQLite or PostgreSQL (``quart_app.database``)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from .database import (
    Database,
    DatabaseLocation,
    Queries,
    database_location,
    migrate,
    open_database,
)

DEMO_USERS: tuple[tuple[str, dt.date, tuple[str, ...]], ...] = (
    (
        "guido-van-rossum",
        dt.date(1991, 2, 20),
        ("Award for the Advancement of Free Software", "Computer History Museum Fellow"),
    ),
    ("ada-lovelace", dt.date(1843, 9, 1), ("First published algorithm",)),
    ("grace-hopper", dt.date(1952, 5, 1), ()),
)

# Hashing is deliberately slow: checking against this hash makes a login for an unknown user
# take as long as one for a real user, so timing does not reveal which names exist.
_UNKNOWN_USER_HASH = generate_password_hash("no user has this password")


class UserExistsError(ValueError):
    """Raised when adding a username that is already taken."""


@dataclass(frozen=True)
class User:
    """A member of the site."""

    username: str
    joined_on: dt.date
    awards: tuple[str, ...]


class UserStore:
    """Async access to the users database, opened by `open()`.

    ``location`` is a SQLite file's path, or a ``sqlite:///`` or ``postgresql://`` URL.
    """

    def __init__(self, location: str | Path | DatabaseLocation) -> None:
        self.location = (
            location if isinstance(location, DatabaseLocation) else database_location(location)
        )
        self._db: Database | None = None

    async def open(self) -> None:
        """Connect and bring the schema up to date (DatabaseUnavailableError if it fails)."""
        database = await open_database(self.location)
        try:
            await migrate(database)
        except BaseException:
            await database.close()
            raise
        self._db = database

    async def close(self) -> None:
        """Close the connection."""
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def _conn(self) -> Database:
        if self._db is None:
            raise RuntimeError("UserStore.open() has not been awaited")
        return self._db

    async def count(self) -> int:
        """Return how many users exist."""
        row = await self._conn.fetch_one("SELECT COUNT(*) FROM users")
        return int(row[0]) if row else 0

    async def get(self, username: str) -> User | None:
        """Return the user called `username`, or None."""
        row = await self._conn.fetch_one(
            "SELECT username, joined_on FROM users WHERE username = ?", username
        )
        if row is None:
            return None
        awards = await self._conn.fetch(
            "SELECT title FROM awards WHERE username = ? ORDER BY position", username
        )
        return User(
            str(row[0]), dt.date.fromisoformat(str(row[1])), tuple(str(a[0]) for a in awards)
        )

    async def add(
        self,
        username: str,
        password: str,
        *,
        joined_on: dt.date | None = None,
        awards: Iterable[str] = (),
    ) -> User:
        """Create a user with a hashed password; raise UserExistsError if the name is taken."""
        joined = joined_on or dt.date.today()
        password_hash = await asyncio.to_thread(generate_password_hash, password)
        titles = tuple(awards)
        async with self._conn.transaction() as transaction:
            if not await _insert(transaction, username, password_hash, joined, titles):
                raise UserExistsError(username)
        return User(username, joined, titles)

    async def authenticate(self, username: str, password: str) -> User | None:
        """Return the user if `password` matches their hash, else None."""
        row = await self._conn.fetch_one(
            "SELECT password_hash FROM users WHERE username = ?", username
        )
        stored_hash = str(row[0]) if row else _UNKNOWN_USER_HASH
        matches = await asyncio.to_thread(check_password_hash, stored_hash, password)
        if row is None or not matches:
            return None
        return await self.get(username)

    async def seed_demo_users(self, password: str) -> int:
        """Add the demo users that are missing, in one transaction; return how many were added.

        Workers (and hosts) starting together on an empty database each try: a name another
        has just added is skipped, awards and all.
        """
        hashes = [await asyncio.to_thread(generate_password_hash, password) for _ in DEMO_USERS]
        added = 0
        async with self._conn.transaction() as transaction:
            for (username, joined_on, awards), password_hash in zip(
                DEMO_USERS, hashes, strict=True
            ):
                added += await _insert(transaction, username, password_hash, joined_on, awards)
        return added

    async def session_generation(self, username: str) -> int | None:
        """The generation a session of ``username`` must carry; None for no such user."""
        row = await self._conn.fetch_one(
            "SELECT session_generation FROM users WHERE username = ?", username
        )
        return int(row[0]) if row else None

    async def end_sessions(self, username: str) -> None:
        """Make every session ``username`` holds invalid (signing out everywhere)."""
        await self._conn.execute(
            "UPDATE users SET session_generation = session_generation + 1 WHERE username = ?",
            username,
        )

    async def record_failed_sign_in(self, keys: Iterable[str], at: float, *, keep: float) -> None:
        """Note a failed sign-in under each key; forget failures older than ``keep`` seconds."""
        async with self._conn.transaction() as transaction:
            await transaction.execute("DELETE FROM failed_sign_ins WHERE failed_at < ?", at - keep)
            await transaction.execute_many(
                "INSERT INTO failed_sign_ins (key, failed_at) VALUES (?, ?)",
                [(key, at) for key in keys],
            )

    async def failed_sign_ins(self, key: str, since: float) -> list[float]:
        """When sign-ins under ``key`` failed since ``since``, oldest first."""
        rows = await self._conn.fetch(
            "SELECT failed_at FROM failed_sign_ins WHERE key = ? AND failed_at >= ?"
            " ORDER BY failed_at",
            key,
            since,
        )
        return [float(row[0]) for row in rows]

    async def forget_failed_sign_ins(self, key: str) -> None:
        """Forget the failures under ``key`` (after a successful sign-in)."""
        await self._conn.execute("DELETE FROM failed_sign_ins WHERE key = ?", key)


async def _insert(
    queries: Queries, username: str, password_hash: str, joined: dt.date, titles: tuple[str, ...]
) -> bool:
    """Insert a user and their awards unless the name is taken; whether it was inserted."""
    inserted = await queries.execute(
        "INSERT INTO users (username, joined_on, password_hash) VALUES (?, ?, ?)"
        " ON CONFLICT (username) DO NOTHING",
        username,
        joined.isoformat(),
        password_hash,
    )
    if not inserted:
        return False
    await queries.execute_many(
        "INSERT INTO awards (username, position, title) VALUES (?, ?, ?)",
        [(username, position, title) for position, title in enumerate(titles)],
    )
    return True
