from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from quart_app.users_store import UserStore


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
