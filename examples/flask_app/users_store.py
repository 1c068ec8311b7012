"""The user store: join dates, awards, password hashes, session generations and failed sign-ins
in SQLite through the stdlib sqlite3."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    joined_on TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    session_generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS awards (
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (username, position)
);
CREATE TABLE IF NOT EXISTS failed_sign_ins (
    key TEXT NOT NULL,
    failed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS failed_sign_ins_by_key ON failed_sign_ins (key, failed_at);
"""
# Databases made before sessions could be revoked lack the column.
_ADD_SESSION_GENERATION = (
    "ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0"
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
_BUSY_TIMEOUT_SECONDS = 30.0


class UserExistsError(ValueError):
    """Raised when adding a username that is already taken."""


@dataclass(frozen=True)
class User:
    """A member of the site."""

    username: str
    joined_on: dt.date
    awards: tuple[str, ...]


class UserStore:
    """Access to the users database; one connection per store, opened by `open()`."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        """Connect and create the schema if it is missing."""
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        # Several gunicorn workers share the file: wait for each other's writes rather than fail,
        # and let readers go on while one of them writes.
        self._db = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT_SECONDS)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(_SCHEMA)
        columns = {str(row[1]) for row in self._db.execute("PRAGMA table_info(users)")}
        if "session_generation" not in columns:
            # Another process may add it first.
            with suppress(sqlite3.OperationalError):
                self._db.execute(_ADD_SESSION_GENERATION)
        self._db.commit()

    def close(self) -> None:
        """Close the connection."""
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("UserStore.open() has not been called")
        return self._db

    def count(self) -> int:
        """Return how many users exist."""
        row = self._conn.execute("SELECT COUNT(*) FROM users").fetchone()
        return int(row[0]) if row else 0

    def get(self, username: str) -> User | None:
        """Return the user called `username`, or None."""
        row = self._conn.execute(
            "SELECT username, joined_on FROM users WHERE username = ?", (username,)
        ).fetchone()
        if row is None:
            return None
        awards = self._conn.execute(
            "SELECT title FROM awards WHERE username = ? ORDER BY position", (username,)
        ).fetchall()
        titles = tuple(str(award[0]) for award in awards)
        return User(str(row[0]), dt.date.fromisoformat(str(row[1])), titles)

    def add(
        self,
        username: str,
        password: str,
        *,
        joined_on: dt.date | None = None,
        awards: Iterable[str] = (),
    ) -> User:
        """Create a user with a hashed password; raise UserExistsError if the name is taken."""
        joined = joined_on or dt.date.today()
        titles = tuple(awards)
        if not self._insert(username, generate_password_hash(password), joined, titles):
            self._conn.rollback()
            raise UserExistsError(username)
        self._conn.commit()
        return User(username, joined, titles)

    def _insert(
        self, username: str, password_hash: str, joined: dt.date, titles: tuple[str, ...]
    ) -> bool:
        """Insert a user and their awards unless the name is taken; whether it was inserted."""
        cursor = self._conn.execute(
            "INSERT OR IGNORE INTO users (username, joined_on, password_hash) VALUES (?, ?, ?)",
            (username, joined.isoformat(), password_hash),
        )
        if cursor.rowcount == 0:
            return False
        self._conn.executemany(
            "INSERT INTO awards (username, position, title) VALUES (?, ?, ?)",
            [(username, position, title) for position, title in enumerate(titles)],
        )
        return True

    def authenticate(self, username: str, password: str) -> User | None:
        """Return the user if `password` matches their hash, else None."""
        row = self._conn.execute(
            "SELECT password_hash FROM users WHERE username = ?", (username,)
        ).fetchone()
        stored_hash = str(row[0]) if row else _UNKNOWN_USER_HASH
        matches = check_password_hash(stored_hash, password)
        if row is None or not matches:
            return None
        return self.get(username)

    def seed_demo_users(self, password: str) -> int:
        """Add the demo users that are missing, in one transaction; return how many were added.

        Workers starting together on an empty database each try: the first to take the write
        lock adds them all, the others wait for it and then find them there.
        """
        hashes = [generate_password_hash(password) for _ in DEMO_USERS]
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            added = 0
            for (username, joined_on, awards), password_hash in zip(
                DEMO_USERS, hashes, strict=True
            ):
                added += self._insert(username, password_hash, joined_on, awards)
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise
        return added

    def session_generation(self, username: str) -> int | None:
        """The generation a session of ``username`` must carry; None for no such user."""
        row = self._conn.execute(
            "SELECT session_generation FROM users WHERE username = ?", (username,)
        ).fetchone()
        return int(row[0]) if row else None

    def end_sessions(self, username: str) -> None:
        """Make every session ``username`` holds invalid (signing out everywhere)."""
        self._conn.execute(
            "UPDATE users SET session_generation = session_generation + 1 WHERE username = ?",
            (username,),
        )
        self._conn.commit()

    def record_failed_sign_in(self, keys: Iterable[str], at: float, *, keep: float) -> None:
        """Note a failed sign-in under each key; forget failures older than ``keep`` seconds."""
        self._conn.execute("DELETE FROM failed_sign_ins WHERE failed_at < ?", (at - keep,))
        self._conn.executemany(
            "INSERT INTO failed_sign_ins (key, failed_at) VALUES (?, ?)",
            [(key, at) for key in keys],
        )
        self._conn.commit()

    def failed_sign_ins(self, key: str, since: float) -> list[float]:
        """When sign-ins under ``key`` failed since ``since``, oldest first."""
        rows = self._conn.execute(
            "SELECT failed_at FROM failed_sign_ins WHERE key = ? AND failed_at >= ?"
            " ORDER BY failed_at",
            (key, since),
        ).fetchall()
        return [float(row[0]) for row in rows]

    def forget_failed_sign_ins(self, key: str) -> None:
        """Forget the failures under ``key`` (after a successful sign-in)."""
        self._conn.execute("DELETE FROM failed_sign_ins WHERE key = ?", (key,))
        self._conn.commit()
