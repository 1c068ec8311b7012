from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .. import create_app
from ..blueprints.stores import CITIES
from ..db import get_user_store
from ..users_store import UserStore
from .conftest import app_config, csrf_token_from, sign_in

# The users table as it was before sessions could be revoked.
_OLD_USERS_TABLE = """
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    joined_on TEXT NOT NULL,
    password_hash TEXT NOT NULL
);
"""


def test_guido_route_wins_over_the_parameter_route(app: Flask, client: FlaskClient) -> None:
    adapter = app.url_map.bind("localhost")
    assert adapter.match("/users/guido-van-rossum")[0] == "users.guido"
    assert "the tutorial's own route" in client.get("/users/guido-van-rossum").get_data(
        as_text=True
    )


def test_profile_shows_join_date_and_awards(client: FlaskClient) -> None:
    body = client.get("/users/guido-van-rossum").get_data(as_text=True)
    assert "<h1>guido-van-rossum joined on the date 1991-02-20</h1>" in body
    assert "<li>Computer History Museum Fellow</li>" in body


def test_unknown_user_is_404_and_escaped(client: FlaskClient) -> None:
    response = client.get("/users/<img src=x onerror=alert(1)>")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "No user was found under that username" in body
    assert "<img src=x" not in body


def test_users_added_to_the_store_get_a_profile(app: Flask, client: FlaskClient) -> None:
    get_user_store().add("new-member", "pw-123456", awards=["First post"])
    assert "<li>First post</li>" in client.get("/users/new-member").get_data(as_text=True)


@pytest.mark.parametrize("city", [*CITIES, "omaha", "oMaHa"])
def test_tutorial_cities_are_located_in_any_case(client: FlaskClient, city: str) -> None:
    response = client.get(f"/stores/locations/{city}")
    assert response.status_code == 200
    assert f"Yes! We are located in {city.title()}" in response.get_data(as_text=True)


def test_unknown_city_is_404_in_every_representation(client: FlaskClient) -> None:
    page = client.get("/stores/locations/Paris")
    assert page.status_code == 404
    text = client.get("/stores/locations/Paris", headers={"Accept": "text/plain"})
    assert text.get_data(as_text=True) == "No. We are not located in Paris"
    data = client.get("/stores/locations/rome", headers={"Accept": "application/json"})
    assert data.get_json() == {
        "city": "rome",
        "located": False,
        "message": "No. We are not located in rome",
    }


def test_a_database_made_before_session_generations_gains_them(tmp_path: Path) -> None:
    database = tmp_path / "users.sqlite3"
    with closing(sqlite3.connect(database)) as old:
        old.executescript(_OLD_USERS_TABLE)
    client = create_app(app_config(tmp_path)).test_client()
    sign_in(client)
    client.post("/logout", data={"csrf_token": csrf_token_from(client)})
    with closing(sqlite3.connect(database)) as upgraded:
        generation = upgraded.execute(
            "SELECT session_generation FROM users WHERE username = 'guido-van-rossum'"
        ).fetchone()
    assert generation == (1,)


def test_a_store_opens_while_another_worker_holds_a_write(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite3"
    holding, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        with closing(sqlite3.connect(path, isolation_level=None)) as connection:
            connection.execute("CREATE TABLE seeding (name TEXT)")
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO seeding VALUES ('ada')")
            holding.set()
            release.wait(10)
            connection.execute("COMMIT")

    worker = threading.Thread(target=other_worker)
    worker.start()
    assert holding.wait(10)
    # SQLite refuses the switch to WAL at once while that write is open, without waiting.
    threading.Timer(0.3, release.set).start()
    store = UserStore(str(path))
    try:
        store.open()
        assert store.get("nobody") is None
    finally:
        store.close()
        worker.join(10)
    with closing(sqlite3.connect(path)) as check:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
