"""The schema as ordered SQL files (``migrations/NNNN_name.sql``), applied once each, in order.

A later change to the schema is a new file with the next number; ``schema_migrations`` records
which files a database has. Workers and hosts starting together apply them one at a time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .queries import Database, Transaction

_FOLDER: Final = Path(__file__).parent / "migrations"
_FILE_NAME: Final = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_RECORD_TABLE: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""


class SchemaTooNewError(RuntimeError):
    """The database has migrations this version of the app does not know."""


@dataclass(frozen=True)
class Migration:
    """One file of the schema's history."""

    version: int
    name: str
    statements: tuple[str, ...]


def known_migrations(folder: Path = _FOLDER) -> list[Migration]:
    """The migrations shipped with the app, in order; numbered 1, 2, 3 … without gaps."""
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise ValueError(f"{path.name}: a migration is named NNNN_words.sql")
        statements = _statements(path.read_text(encoding="utf-8"))
        found.append(Migration(int(match.group(1)), match.group(2), statements))
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, 3 … in {folder}: {versions}")
    return found


def _statements(script: str) -> tuple[str, ...]:
    # The files hold plain DDL: no semicolons inside literals, no procedural bodies.
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return tuple(part.strip() for part in "\n".join(lines).split(";") if part.strip())


async def migrate(database: Database) -> list[str]:
    """Apply the migrations the database lacks, in one transaction; their names."""
    migrations = await asyncio.to_thread(known_migrations)
    async with database.transaction() as transaction:
        await transaction.serialize()
        await transaction.execute(_RECORD_TABLE)
        applied = {
            int(row[0]) for row in await transaction.fetch("SELECT version FROM schema_migrations")
        }
        if not applied and database.location.kind == "sqlite":
            applied = await _adopt_sqlite_from_before_migrations(transaction, migrations)
        newest = max(applied, default=0)
        if newest > len(migrations):
            raise SchemaTooNewError(
                f"the database's schema is at version {newest}, newer than this app's "
                f"{len(migrations)}: upgrade the app"
            )
        done = []
        for migration in migrations:
            if migration.version in applied:
                continue
            for statement in migration.statements:
                await transaction.execute(statement)
            await _record(transaction, migration)
            done.append(f"{migration.version:04d}_{migration.name}")
    return done


async def _adopt_sqlite_from_before_migrations(
    transaction: Transaction, migrations: list[Migration]
) -> set[int]:
    """Record what a SQLite file made before migrations already has. The first migration
    creates only what is missing, so it runs on them too; session generations came later."""
    columns = {str(row[1]) for row in await transaction.fetch("PRAGMA table_info(users)")}
    if "session_generation" not in columns:
        return set()
    await _record(transaction, migrations[1])
    return {migrations[1].version}


async def _record(transaction: Transaction, migration: Migration) -> None:
    await transaction.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        migration.version,
        migration.name,
        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
