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


def _schema(database: Path) -> list[tuple[str, str, str]]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()


def test_both_apps_make_the_same_database(seeded_databases: dict[str, Path]) -> None:
    """Served side by side (make serve, make serve-flask), the apps share one database file."""
    assert _schema(seeded_databases["flask"]) == _schema(seeded_databases["quart"])


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
