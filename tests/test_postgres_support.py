"""The PostgreSQL launcher gives a real server on loopback only, an empty database of its own
to each caller, and leaves no process or folder behind."""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
import pytest

from .support.postgres import PostgresServer, running_postgres

pytestmark = pytest.mark.slow


def _is_running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_the_server_answers_select_1_on_its_url(postgres: PostgresServer) -> None:
    connection = await asyncpg.connect(postgres.url)
    try:
        assert await connection.fetchval("SELECT 1") == 1
        assert await connection.fetchval("SELECT current_database()") == "quart_app_test"
    finally:
        await connection.close()


async def test_the_postgres_url_fixture_gives_an_empty_database(postgres_url: str) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await connection.close()
    assert tables == 0


async def test_fresh_databases_are_independent(postgres: PostgresServer) -> None:
    # Called inside the test's running event loop, as async fixtures will.
    first, second = postgres.fresh_database("first"), postgres.fresh_database("first")
    assert first != second
    connection = await asyncpg.connect(first)
    try:
        await connection.execute("CREATE TABLE notes (body text)")
    finally:
        await connection.close()
    connection = await asyncpg.connect(second)
    try:
        assert await connection.fetchval("SELECT to_regclass('notes')") is None
    finally:
        await connection.close()


async def test_the_server_listens_on_127_0_0_1_only(postgres: PostgresServer) -> None:
    connection = await asyncpg.connect(postgres.admin_url)
    try:
        assert await connection.fetchval("SHOW listen_addresses") == "127.0.0.1"
    finally:
        await connection.close()
    # Other loopback addresses reach the machine without leaving it.
    for host in ("127.0.0.2", "::1"):
        with pytest.raises(OSError):
            socket.create_connection((host, postgres.port), timeout=1).close()


def test_after_the_block_the_port_refuses_and_the_folder_is_gone(
    postgres: PostgresServer,
) -> None:
    with running_postgres() as server:
        assert server.port != postgres.port
        pid = int((server.folder / "data" / "postmaster.pid").read_text().split()[0])
        assert _is_running(pid)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    assert not server.folder.exists()
    assert not _is_running(pid)
