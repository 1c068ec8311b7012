"""Signing in through the site's form, with the test client or over real HTTP."""

from __future__ import annotations

import re
from typing import TypeAlias

import httpx
from quart.testing import QuartClient
from quart.typing import TestClientProtocol

from .app_settings import DEMO_PASSWORD

_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')

# A test client: Quart's class, or what `app.test_client()` is typed as (a protocol the class
# does not quite match).
Client: TypeAlias = QuartClient | TestClientProtocol


async def csrf_token_from(client: Client, path: str = "/login") -> str:
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


async def sign_in(client: Client, username: str = "guido-van-rossum") -> None:
    """Sign `username` in with the demo password."""
    token = await csrf_token_from(client)
    response = await client.post(
        "/login",
        form={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
