"""Both apps side by side: the Flask original under gunicorn, the port under Hypercorn."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..support.app_settings import API_KEY, DEMO_PASSWORD, server_env
from ..support.live_server import gunicorn_server, hypercorn_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

_CSRF_INPUT = re.compile(r'(name="csrf_token" value=")[^"]+')
_PATHS = (
    "/",
    "/about",
    "/login",
    "/users/guido-van-rossum",
    "/users/nobody",
    "/stores/locations/cairo",
    f"/api/users/ada-lovelace?key={API_KEY}",
    "/static/styles/site.css",
    "/no/such/page",
)


@contextlib.contextmanager
def _side_by_side(tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    """Serve both apps on one database; yield a client of the Flask server and the Quart URL."""
    flask_env = {key.replace("QUART_", "FLASK_", 1): v for key, v in server_env(tmp_path).items()}
    with (
        gunicorn_server(flask_env) as flask_url,
        httpx.Client(base_url=flask_url, timeout=10) as flask_http,
    ):
        # gunicorn listens before its worker has built the app; the first answer means the
        # Flask app has created and seeded the database, so Hypercorn's app finds it ready.
        assert flask_http.get("/").status_code == 200
        with hypercorn_server(server_env(tmp_path)) as quart_url:
            yield flask_http, quart_url


async def test_both_servers_give_the_same_answers_from_one_database(tmp_path: Path) -> None:
    with _side_by_side(tmp_path) as (flask_http, quart_url):
        async with httpx.AsyncClient(base_url=quart_url, timeout=10) as quart_http:
            for path in _PATHS:
                before = flask_http.get(path)
                after = await quart_http.get(path)
                assert after.status_code == before.status_code, path
                assert after.headers["content-type"] == before.headers["content-type"], path
                assert _CSRF_INPUT.sub("", after.text) == _CSRF_INPUT.sub("", before.text), path
            assert before.headers["server"].startswith("gunicorn")
            assert after.headers["server"].startswith("hypercorn")
            flask_head = flask_http.head("/")
            quart_head = await quart_http.head("/")
    assert flask_head.content == quart_head.content == b""
    assert flask_head.headers["content-length"] == quart_head.headers["content-length"]


async def test_a_session_from_the_flask_server_is_valid_on_the_quart_server(
    tmp_path: Path,
) -> None:
    with _side_by_side(tmp_path) as (flask_http, quart_url):
        token = re.search(r'name="csrf_token" value="([^"]+)"', flask_http.get("/login").text)
        assert token
        login = flask_http.post(
            "/login",
            data={"username": "grace-hopper", "password": DEMO_PASSWORD, "csrf_token": token[1]},
        )
        assert login.status_code == 303
        cookies = {"quart_app_session": flask_http.cookies["quart_app_session"]}
        async with httpx.AsyncClient(base_url=quart_url, cookies=cookies, timeout=10) as quart:
            page = await quart.get("/upload")
    assert 'name="wordlist-upload"' in page.text
    assert "Signed in as grace-hopper." in page.text
