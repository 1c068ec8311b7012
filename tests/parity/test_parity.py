"""Every row of the parity table gets the same answer from the Flask original and the port."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import unquote

import pytest
from flask import Flask
from quart import Quart
from werkzeug.exceptions import HTTPException

from examples.flask_app import create_app as create_flask_app
from quart_app import create_app as create_quart_app

from ..support.app_settings import API_KEY
from .replay import comparable, parity_config, replay_flask, replay_quart
from .table import ADDED_ENDPOINTS, INTENDED_DIFFERENCES, ROWS, Row


async def _start_and_stop(app: Quart) -> None:
    async with app.test_app():
        pass


@pytest.fixture(scope="session")
def seeded_databases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A demo-seeded database made by each app once, copied for every row (hashing is slow)."""
    folder = tmp_path_factory.mktemp("seeded")
    create_flask_app(parity_config(folder / "flask"))
    asyncio.run(_start_and_stop(create_quart_app(parity_config(folder / "quart"))))
    return {side: folder / side / "users.sqlite3" for side in ("flask", "quart")}


def _apps(row: Row, tmp_path: Path, seeded: dict[str, Path]) -> tuple[Flask, Quart]:
    for side in ("flask", "quart"):
        (tmp_path / side).mkdir()
        shutil.copy(seeded[side], tmp_path / side / "users.sqlite3")
    flask_app = create_flask_app(parity_config(tmp_path / "flask", **row.config))
    quart_app = create_quart_app(parity_config(tmp_path / "quart", **row.config))
    return flask_app, quart_app


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_flask_and_quart_answer_alike(
    row: Row, tmp_path: Path, seeded_databases: dict[str, Path]
) -> None:
    flask_app, quart_app = _apps(row, tmp_path, seeded_databases)
    before = replay_flask(flask_app, row)
    after = await replay_quart(quart_app, row)
    assert comparable(after, row) == comparable(before, row)


API = {"X-API-Key": API_KEY, "Accept": "application/json"}
# SQLite's rules for the affinity a declared column type gives (first match wins).
_AFFINITIES = (
    ("INT", "INTEGER"),
    ("CHAR", "TEXT"),
    ("CLOB", "TEXT"),
    ("TEXT", "TEXT"),
    ("BLOB", "BLOB"),
    ("REAL", "REAL"),
    ("FLOA", "REAL"),
    ("DOUB", "REAL"),
)


def _affinity(declared: str) -> str:
    upper = declared.upper()
    found = (affinity for marker, affinity in _AFFINITIES if marker in upper)
    return next(found, "NUMERIC" if upper else "BLOB")


def _tables(database: Path) -> dict[str, list[tuple[object, ...]]]:
    """Each table's columns as SQLite keeps them: name, affinity, not null, default, key."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        names = [
            str(row[0])
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {
            name: [
                (column, _affinity(declared), not_null, default, key)
                for _, column, declared, not_null, default, key in connection.execute(
                    f"PRAGMA table_info({name})"
                )
            ]
            for name in names
        }


def _indexes(database: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        return {str(row[0]) for row in rows}


def test_both_apps_keep_their_users_alike_in_one_database(
    seeded_databases: dict[str, Path],
) -> None:
    """Served side by side (make serve, make serve-flask), the apps share one database file:
    every table and index the Flask original makes, the port makes alike (the port adds its
    migrations' record and the tables several hosts share)."""
    flask_tables = _tables(seeded_databases["flask"])
    quart_tables = _tables(seeded_databases["quart"])
    assert {name: quart_tables.get(name) for name in flask_tables} == flask_tables
    assert _indexes(seeded_databases["flask"]) <= _indexes(seeded_databases["quart"])


async def test_each_app_opens_the_database_the_other_made(
    seeded_databases: dict[str, Path], tmp_path: Path
) -> None:
    for side, made_by in (("quart", "flask"), ("flask", "quart")):
        (tmp_path / side).mkdir()
        shutil.copy(seeded_databases[made_by], tmp_path / side / "users.sqlite3")
    quart_app = create_quart_app(parity_config(tmp_path / "quart"))
    async with quart_app.test_app():
        client = quart_app.test_client()
        answer = await client.get("/api/users/ada-lovelace", headers=API)
        assert answer.status_code == 200
        assert (await answer.get_json())["joined_on"] == "1843-09-01"
    flask_app = create_flask_app(parity_config(tmp_path / "flask"))
    flask_answer = flask_app.test_client().get("/api/users/ada-lovelace", headers=API)
    assert flask_answer.status_code == 200
    assert flask_answer.get_json()["joined_on"] == "1843-09-01"


def _routes(app: Flask | Quart) -> set[tuple[str, str, str]]:
    return {
        (rule.rule, rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
    }


def test_both_apps_have_the_same_routes(tmp_path: Path) -> None:
    flask_app = create_flask_app(parity_config(tmp_path / "flask", SEED_DEMO_USERS=False))
    quart_app = create_quart_app(parity_config(tmp_path / "quart", SEED_DEMO_USERS=False))
    added = {route for route in _routes(quart_app) if route[1] in ADDED_ENDPOINTS}
    assert {endpoint for _, endpoint, _ in added} == set(ADDED_ENDPOINTS)
    assert _routes(quart_app) - added == _routes(flask_app)


def test_the_table_reaches_every_route_and_method(tmp_path: Path) -> None:
    app = create_flask_app(parity_config(tmp_path, SEED_DEMO_USERS=False))
    adapter = app.url_map.bind("localhost")
    reached: set[tuple[str, str]] = set()
    for row in ROWS:
        path = unquote(row.path.partition("?")[0])
        with contextlib.suppress(HTTPException):
            endpoint, _ = adapter.match(path, method=row.method)
            reached.add((endpoint, row.method))
    routes = {
        (endpoint, method)
        for _, endpoint, method in _routes(app)
        if method not in {"HEAD", "OPTIONS"}
    }
    assert routes - reached == set()


def test_intended_differences_are_all_used_and_explained() -> None:
    used = {name for row in ROWS for name in row.intended}
    assert used == set(INTENDED_DIFFERENCES)
    assert all(len(reason) > 80 for reason in INTENDED_DIFFERENCES.values())
    assert len({row.id for row in ROWS}) == len(ROWS)
