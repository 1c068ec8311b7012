from __future__ import annotations

import pytest
from quart import Quart
from quart.testing import QuartClient

from .support.app_settings import DEMO_PASSWORD
from .support.sign_in import csrf_token_from, sign_in


@pytest.fixture
def app(app_on_each_database: Quart) -> Quart:
    """The app, with its users in SQLite, then in PostgreSQL."""
    return app_on_each_database


XSS = '"><script>alert(1)</script>'


async def test_login_form_links_its_assets(client: QuartClient) -> None:
    response = await client.get("/login")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/static/styles/login-style.css"' in body
    assert 'src="/static/scripts/login-script.js"' in body
    assert 'name="csrf_token"' in body
    for asset in ("/static/styles/login-style.css", "/static/scripts/login-script.js"):
        assert (await client.get(asset)).status_code == 200


async def test_login_success_starts_session_sets_cookie_and_redirects(
    client: QuartClient,
) -> None:
    token = await csrf_token_from(client)
    response = await client.post(
        "/login",
        form={"username": "guido-van-rossum", "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/users/guido-van-rossum"
    cookies = response.headers.getlist("Set-Cookie")
    username_cookie = next(c for c in cookies if c.startswith("username="))
    session_cookie = next(c for c in cookies if c.startswith("quart_app_session="))
    assert "HttpOnly" in username_cookie
    assert "SameSite=Lax" in username_cookie
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    profile = await (await client.get("/users/guido-van-rossum")).get_data(as_text=True)
    assert "Signed in as guido-van-rossum." in profile
    home = await (await client.get("/home")).get_data(as_text=True)
    assert "Your stored username is guido-van-rossum" in home


async def test_wrong_password_is_401_with_form_error_and_no_echo(
    client: QuartClient,
) -> None:
    token = await csrf_token_from(client)
    secret = "not-the-password-xyz"
    response = await client.post(
        "/login", form={"username": "guido-van-rossum", "password": secret, "csrf_token": token}
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Wrong username or password." in body
    assert secret not in body
    assert 'value="guido-van-rossum"' in body
    assert "Set-Cookie" not in response.headers or "username=" not in str(
        response.headers.getlist("Set-Cookie")
    )


async def test_unknown_user_is_401_like_a_wrong_password(client: QuartClient) -> None:
    token = await csrf_token_from(client)
    response = await client.post(
        "/login", form={"username": "nobody", "password": "whatever", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Wrong username or password." in await response.get_data(as_text=True)


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"username": "guido-van-rossum"},
        {"password": "something"},
        {"username": "   ", "password": "something"},
    ],
)
async def test_missing_fields_are_400_with_form_error(
    client: QuartClient, form: dict[str, str]
) -> None:
    token = await csrf_token_from(client)
    response = await client.post("/login", form={**form, "csrf_token": token})
    assert response.status_code == 400
    assert "Enter both a username and a password." in await response.get_data(as_text=True)


async def test_login_without_csrf_token_is_400(client: QuartClient) -> None:
    await client.get("/login")
    response = await client.post(
        "/login", form={"username": "guido-van-rossum", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 400
    assert "did not come from this site" in await response.get_data(as_text=True)


async def test_login_with_forged_csrf_token_is_400(client: QuartClient) -> None:
    await client.get("/login")
    response = await client.post(
        "/login",
        form={"username": "guido-van-rossum", "password": DEMO_PASSWORD, "csrf_token": "forged"},
    )
    assert response.status_code == 400


async def test_typed_username_is_escaped_in_the_form(client: QuartClient) -> None:
    token = await csrf_token_from(client)
    response = await client.post(
        "/login", form={"username": XSS, "password": "x", "csrf_token": token}
    )
    body = await response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&#34;&gt;&lt;script&gt;" in body


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
async def test_login_refuses_other_methods_with_allow(client: QuartClient, method: str) -> None:
    response = await client.open("/login", method=method)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert method not in allowed


async def test_logout_ends_session_and_forgets_cookie(client: QuartClient) -> None:
    await sign_in(client)
    token = await csrf_token_from(client, "/login")
    response = await client.post("/logout", form={"csrf_token": token})
    assert response.status_code == 303
    assert any(c.startswith("username=;") for c in response.headers.getlist("Set-Cookie"))
    home = await (await client.get("/home")).get_data(as_text=True)
    assert "No username cookie was found" in home
    upload = await client.post("/upload", headers={"Accept": "application/json"})
    assert upload.status_code == 401


async def test_logout_without_csrf_token_is_400(client: QuartClient) -> None:
    await sign_in(client)
    response = await client.post("/logout")
    assert response.status_code == 400
