"""Sessions: signing out ends every copy of the session, on every device."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from quart import Quart

from quart_app import create_app

from .support.app_settings import app_config
from .support.sign_in import Client, csrf_token_from, sign_in


@pytest.fixture
def app(app_on_each_database: Quart) -> Quart:
    """The app, with its users in SQLite, then in PostgreSQL."""
    return app_on_each_database


JSON = {"Accept": "application/json"}


def session_cookie(client: Client) -> str:
    assert client.cookie_jar is not None
    [cookie] = [c for c in client.cookie_jar if c.name == "quart_app_session"]
    assert cookie.value is not None
    return cookie.value


async def is_signed_in(app: Quart, cookie: str) -> bool:
    """Whether a fresh client presenting only `cookie` is treated as signed in."""
    client = app.test_client()
    response = await client.get(
        "/uploads", headers={**JSON, "Cookie": f"quart_app_session={cookie}"}
    )
    return response.status_code == 200


async def sign_out(client: Client) -> None:
    token = await csrf_token_from(client, "/upload")
    response = await client.post("/logout", form={"csrf_token": token})
    assert response.status_code == 303


async def test_a_session_cookie_copied_before_sign_out_stops_working(
    app: Quart, client: Client
) -> None:
    await sign_in(client)
    copied = session_cookie(client)
    assert await is_signed_in(app, copied)
    await sign_out(client)
    assert not await is_signed_in(app, copied)


async def test_signing_out_ends_the_users_sessions_on_other_devices(app: Quart) -> None:
    laptop, phone, other = app.test_client(), app.test_client(), app.test_client()
    await sign_in(laptop)
    await sign_in(phone)
    await sign_in(other, "ada-lovelace")
    await sign_out(laptop)
    assert not await is_signed_in(app, session_cookie(phone))
    assert await is_signed_in(app, session_cookie(other)), "other users stay signed in"
    await sign_in(phone)
    assert await is_signed_in(app, session_cookie(phone)), "signing in again works"


async def test_a_revoked_session_is_cleared_from_the_browser(app: Quart, client: Client) -> None:
    await sign_in(client)
    copied = session_cookie(client)
    await sign_out(client)
    stranger = app.test_client()
    response = await stranger.get("/", headers={"Cookie": f"quart_app_session={copied}"})
    page = await response.get_data(as_text=True)
    assert "Sign out" not in page
    assert any(
        header.startswith("quart_app_session=;") or "Expires=Thu, 01 Jan 1970" in header
        for header in response.headers.getlist("Set-Cookie")
    )


async def test_a_database_from_before_session_generations_is_upgraded(tmp_path: Path) -> None:
    database = tmp_path / "users.sqlite3"
    with sqlite3.connect(database) as old:
        old.executescript(
            "CREATE TABLE users (username TEXT PRIMARY KEY, joined_on TEXT NOT NULL,"
            " password_hash TEXT NOT NULL);"
        )
    app = create_app(app_config(tmp_path))
    async with app.test_app():
        client = app.test_client()
        await sign_in(client)
        assert await is_signed_in(app, session_cookie(client))
    with sqlite3.connect(database) as upgraded:
        columns = {row[1] for row in upgraded.execute("PRAGMA table_info(users)")}
    assert "session_generation" in columns


async def test_static_files_do_not_vary_by_the_session(client: Client) -> None:
    await sign_in(client)
    static = await client.get("/static/styles/site.css")
    page = await client.get("/")
    assert "Cookie" not in static.headers.get("Vary", "")
    assert "Cookie" in page.headers.get("Vary", "")
