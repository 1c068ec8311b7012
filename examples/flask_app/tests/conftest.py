"""Fixtures: a fresh app per test with its own database and uploads folder."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .. import create_app
from ..users_store import UserStore

API_KEY = "test-api-key"
DEMO_PASSWORD = "test-demo-password"

_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def app_config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """The configuration every test app starts from."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "API_KEY": API_KEY,
        "DEMO_PASSWORD": DEMO_PASSWORD,
        "DATABASE": str(tmp_path / "users.sqlite3"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        **overrides,
    }


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the demo users, made once: each copy saves hashing three passwords."""
    path = tmp_path_factory.mktemp("demo-database") / "users.sqlite3"
    store = UserStore(path)
    store.open()
    try:
        store.seed_demo_users(DEMO_PASSWORD)
    finally:
        store.close()
    return path


@pytest.fixture
def uploads_dir(tmp_path: Path) -> Path:
    """The app's uploads folder."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


@pytest.fixture
def app(tmp_path: Path, uploads_dir: Path, demo_database: Path) -> Iterator[Flask]:
    """An app with demo users."""
    shutil.copyfile(demo_database, tmp_path / "users.sqlite3")
    application = create_app(app_config(tmp_path))
    with application.app_context():
        yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for `app`."""
    return app.test_client()


def csrf_token_from(client: FlaskClient, path: str = "/login") -> str:
    """GET a page with a form and return its CSRF token."""
    response = client.get(path)
    match = _CSRF_INPUT.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, username: str = "guido-van-rossum") -> None:
    """Sign `username` in with the demo password."""
    token = csrf_token_from(client)
    response = client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
