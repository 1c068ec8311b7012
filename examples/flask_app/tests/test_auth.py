from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from .conftest import DEMO_PASSWORD, csrf_token_from, sign_in


def test_login_success_starts_session_sets_cookie_and_redirects(client: FlaskClient) -> None:
    token = csrf_token_from(client)
    response = client.post(
        "/login",
        data={"username": "guido-van-rossum", "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/users/guido-van-rossum"
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("username=guido-van-rossum;") and "HttpOnly" in c for c in cookies)
    assert any(c.startswith("quart_app_session=") and "SameSite=Lax" in c for c in cookies)
    profile = client.get("/users/guido-van-rossum").get_data(as_text=True)
    assert "Signed in as guido-van-rossum." in profile


def test_wrong_password_is_401_without_echo(client: FlaskClient) -> None:
    token = csrf_token_from(client)
    response = client.post(
        "/login",
        data={"username": "guido-van-rossum", "password": "nope-xyz", "csrf_token": token},
    )
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert "nope-xyz" not in response.get_data(as_text=True)


@pytest.mark.parametrize("form", [{}, {"username": "guido-van-rossum"}, {"password": "x"}])
def test_missing_fields_are_400(client: FlaskClient, form: dict[str, str]) -> None:
    token = csrf_token_from(client)
    response = client.post("/login", data={**form, "csrf_token": token})
    assert response.status_code == 400
    assert "Enter both a username and a password." in response.get_data(as_text=True)


def test_login_without_csrf_token_is_400(client: FlaskClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "guido-van-rossum", "password": "x"})
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
def test_login_refuses_other_methods_with_allow(client: FlaskClient, method: str) -> None:
    response = client.open("/login", method=method)
    assert response.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_logout_ends_session_and_forgets_cookie(client: FlaskClient) -> None:
    sign_in(client)
    response = client.post("/logout", data={"csrf_token": csrf_token_from(client)})
    assert response.status_code == 303
    assert any(c.startswith("username=;") for c in response.headers.getlist("Set-Cookie"))
    assert client.post("/upload", headers={"Accept": "application/json"}).status_code == 401
