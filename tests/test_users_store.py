from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from quart_app.database import migrate
from quart_app.database.migrations import SchemaTooNewError, known_migrations
from quart_app.users_store import DEMO_USERS, User, UserExistsError, UserStore


async def test_a_store_opens_while_another_worker_holds_a_write(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite3"
    other_worker = sqlite3.connect(path, isolation_level=None)
    other_worker.execute("CREATE TABLE seeding (name TEXT)")
    other_worker.execute("BEGIN IMMEDIATE")
    other_worker.execute("INSERT INTO seeding VALUES ('ada')")
    # SQLite refuses the switch to WAL at once while that write is open, without waiting.
    asyncio.get_running_loop().call_later(0.3, other_worker.execute, "COMMIT")
    store = UserStore(path)
    try:
        await store.open()
        assert await store.get("nobody") is None
    finally:
        await store.close()
        other_worker.close()
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[UserStore]:
    opened = UserStore(database_url)
    await opened.open()
    yield opened
    await opened.close()


async def test_a_user_is_added_read_and_authenticated(store: UserStore) -> None:
    added = await store.add(
        "alan", "enigma-1912", joined_on=dt.date(1936, 5, 28), awards=["Turing machine", "Ace"]
    )
    assert added == User("alan", dt.date(1936, 5, 28), ("Turing machine", "Ace"))
    assert await store.get("alan") == added
    assert await store.authenticate("alan", "enigma-1912") == added
    assert await store.authenticate("alan", "wrong") is None
    assert await store.authenticate("nobody", "enigma-1912") is None
    assert await store.count() == 1


async def test_a_taken_name_is_refused_and_leaves_the_first_user_whole(store: UserStore) -> None:
    await store.add("alan", "first", awards=["one"])
    with pytest.raises(UserExistsError):
        await store.add("alan", "second", awards=["two", "three"])
    user = await store.get("alan")
    assert user is not None and user.awards == ("one",)
    assert await store.authenticate("alan", "first") is not None


async def test_demo_users_are_seeded_once_even_by_stores_starting_together(
    database_url: str,
) -> None:
    stores = [UserStore(database_url) for _ in range(4)]
    await asyncio.gather(*(store.open() for store in stores))
    try:
        added = await asyncio.gather(*(store.seed_demo_users("pw") for store in stores))
        assert sum(added) == len(DEMO_USERS)
        assert await stores[0].count() == len(DEMO_USERS)
        guido = await stores[1].get("guido-van-rossum")
        assert guido is not None and guido.awards == DEMO_USERS[0][2]
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_ending_sessions_moves_the_generation_on(store: UserStore) -> None:
    await store.add("ada", "pw")
    assert await store.session_generation("ada") == 0
    await store.end_sessions("ada")
    await store.end_sessions("ada")
    assert await store.session_generation("ada") == 2
    assert await store.session_generation("nobody") is None


async def test_failed_sign_ins_are_kept_per_key_and_forgotten(store: UserStore) -> None:
    await store.record_failed_sign_in(["user:ada", "address:127.0.0.1"], 1000.25, keep=60)
    await store.record_failed_sign_in(["user:ada"], 1010.5, keep=60)
    assert await store.failed_sign_ins("user:ada", since=0) == [1000.25, 1010.5]
    assert await store.failed_sign_ins("user:ada", since=1005) == [1010.5]
    # Older than `keep` seconds: dropped by the next record.
    await store.record_failed_sign_in(["user:bob"], 1065.75, keep=60)
    assert await store.failed_sign_ins("user:ada", since=0) == [1010.5]
    await store.forget_failed_sign_ins("user:ada")
    assert await store.failed_sign_ins("user:ada", since=0) == []
    assert await store.failed_sign_ins("address:127.0.0.1", since=0) == []
    assert await store.failed_sign_ins("user:bob", since=0) == [1065.75]


async def test_the_schema_is_made_by_the_migrations_once(database_url: str) -> None:
    first, second = UserStore(database_url), UserStore(database_url)
    await first.open()
    await second.open()
    try:
        database = first._conn
        rows = await database.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [tuple(row) for row in rows] == [
            (migration.version, migration.name) for migration in known_migrations()
        ]
        assert await migrate(database) == []
    finally:
        await first.close()
        await second.close()


async def test_a_database_newer_than_the_app_is_refused(database_url: str) -> None:
    store = UserStore(database_url)
    await store.open()
    await store._conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        len(known_migrations()) + 1,
        "from_a_newer_app",
        "2026-12-03T00:00:00+00:00",
    )
    await store.close()
    with pytest.raises(SchemaTooNewError, match="upgrade the app"):
        await UserStore(database_url).open()


async def test_a_statement_error_inside_a_transaction_undoes_it_all(store: UserStore) -> None:
    database = store._conn
    with pytest.raises(UserExistsError):
        async with database.transaction() as transaction:
            await transaction.execute(
                "INSERT INTO users (username, joined_on, password_hash) VALUES (?, ?, ?)",
                "grace",
                "1952-05-01",
                "hash",
            )
            raise UserExistsError("grace")
    assert await store.get("grace") is None
