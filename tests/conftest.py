"""Fixtures: a fresh app per test with its own database and uploads folder."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from quart import Quart
from quart.testing import QuartClient

from quart_app import create_app

from .live_server import hypercorn_server

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


@pytest.fixture
def uploads_dir(tmp_path: Path) -> Path:
    """The app's uploads folder."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


@pytest.fixture
async def app(tmp_path: Path, uploads_dir: Path) -> AsyncIterator[Quart]:
    """A started app with demo users."""
    application = create_app(app_config(tmp_path))
    async with application.test_app():
        yield application


@pytest.fixture
def client(app: Quart) -> QuartClient:
    """A test client for `app`."""
    return app.test_client()


async def csrf_token_from(client: QuartClient, path: str = "/login") -> str:
    """GET a page with a form and return its CSRF token."""
    response = await client.get(path)
    return csrf_token_in(await response.get_data(as_text=True))


def csrf_token_in(html: str) -> str:
    """Return the CSRF token of the first form in `html`."""
    match = _CSRF_INPUT.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def http_sign_in(
    http: httpx.AsyncClient, username: str = "guido-van-rossum"
) -> httpx.Response:
    """Sign in over real HTTP through the login form; return the login answer."""
    form = await http.get("/login")
    login = await http.post(
        "/login",
        data={
            "username": username,
            "password": DEMO_PASSWORD,
            "csrf_token": csrf_token_in(form.text),
        },
    )
    assert login.status_code == 303
    return login


async def sign_in(client: QuartClient, username: str = "guido-van-rossum") -> None:
    """Sign `username` in with the demo password."""
    token = await csrf_token_from(client)
    response = await client.post(
        "/login",
        form={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303


def server_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The test configuration as the QUART_* variables of a served app, pointed at `tmp_path`."""
    (tmp_path / "uploads").mkdir(exist_ok=True)
    settings = {key: str(value) for key, value in app_config(tmp_path).items() if key != "TESTING"}
    return {f"QUART_{key}": value for key, value in {**settings, **overrides}.items()}


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """The app under real Hypercorn on a free loopback port; yields its base URL."""
    with hypercorn_server(server_env(tmp_path)) as base_url:
        yield base_url
