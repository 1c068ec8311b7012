from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from .. import create_app
from ..blueprints import auth
from .conftest import DEMO_PASSWORD, app_config, csrf_token_from, sign_in

GUIDO = "guido-van-rossum"
SESSION_COOKIE = "quart_app_session"


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


class _FrozenClock:
    """Stands in for the `time` module the auth view reads the time from."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def _attempt(client: FlaskClient, password: str, *, username: str = GUIDO) -> TestResponse:
    token = csrf_token_from(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def _session_cookie_set_by(response: TestResponse) -> str:
    for cookie in response.headers.getlist("Set-Cookie"):
        name, _, rest = cookie.partition("=")
        if name == SESSION_COOKIE:
            return rest.partition(";")[0]
    raise AssertionError("the answer set no session cookie")


def _fail(client: FlaskClient, times: int, *, username: str = GUIDO) -> None:
    for _ in range(times):
        assert _attempt(client, "wrong-password", username=username).status_code == 401


def test_five_wrong_passwords_make_the_sixth_sign_in_429_even_with_the_right_one(
    client: FlaskClient,
) -> None:
    _fail(client, 5)
    response = _attempt(client, DEMO_PASSWORD)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 900
    body = response.get_data(as_text=True)
    assert "Too many failed sign-ins. Try again in 15 minute(s)." in body
    assert SESSION_COOKIE not in str(response.headers.getlist("Set-Cookie"))


def test_the_account_throttle_spares_other_accounts(client: FlaskClient) -> None:
    _fail(client, 5)
    assert _attempt(client, DEMO_PASSWORD, username="ada-lovelace").status_code == 303


def test_failures_from_one_address_add_up_across_accounts(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path, SIGN_IN_MAX_FAILURES_PER_ADDRESS=3))
    client = app.test_client()
    for username in ("nobody-1", "nobody-2", "ada-lovelace"):
        _fail(client, 1, username=username)
    # No account has reached its own limit: the address has.
    assert _attempt(client, DEMO_PASSWORD).status_code == 429


def test_a_successful_sign_in_forgets_the_accounts_failures(client: FlaskClient) -> None:
    _fail(client, 4)
    assert _attempt(client, DEMO_PASSWORD).status_code == 303
    _fail(client, 4)
    assert _attempt(client, DEMO_PASSWORD).status_code == 303


def test_the_throttle_lifts_once_the_window_has_passed(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _FrozenClock(1_000_000.0)
    monkeypatch.setattr(auth, "time", clock)
    _fail(client, 5)
    clock.now += 899
    refused = _attempt(client, DEMO_PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert "Try again in 1 minute(s)." in refused.get_data(as_text=True)
    clock.now += 1
    assert _attempt(client, DEMO_PASSWORD).status_code == 303


def test_logout_ends_every_copy_of_the_session(app: Flask, client: FlaskClient) -> None:
    copied = _session_cookie_set_by(_attempt(client, DEMO_PASSWORD))
    elsewhere = app.test_client()
    elsewhere.set_cookie(SESSION_COOKIE, copied)
    assert f'<span class="account-name">{GUIDO}</span>' in elsewhere.get("/").get_data(
        as_text=True
    )
    client.post("/logout", data={"csrf_token": csrf_token_from(client)})
    stolen = app.test_client()
    stolen.set_cookie(SESSION_COOKIE, copied)
    page = stolen.get("/upload")
    assert f'<span class="account-name">{GUIDO}</span>' not in page.get_data(as_text=True)
    assert any(c.startswith(f"{SESSION_COOKIE}=;") for c in page.headers.getlist("Set-Cookie"))
    assert elsewhere.post("/upload", headers={"Accept": "application/json"}).status_code == 401


def test_signing_in_again_after_logout_starts_a_working_session(client: FlaskClient) -> None:
    sign_in(client)
    client.post("/logout", data={"csrf_token": csrf_token_from(client)})
    sign_in(client)
    page = client.get("/upload").get_data(as_text=True)
    assert f'<span class="account-name">{GUIDO}</span>' in page


@pytest.mark.parametrize("path", ["/login", "/logout"])
def test_a_form_over_form_max_size_is_413(client: FlaskClient, path: str) -> None:
    token = csrf_token_from(client)
    response = client.post(
        path,
        data={"username": GUIDO, "password": "x" * 16 * 1024, "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 413
    assert response.get_json()["status"] == 413


def test_a_form_within_form_max_size_is_read(client: FlaskClient) -> None:
    token = csrf_token_from(client)
    padding = "p" * (15 * 1024)
    response = client.post(
        "/login",
        data={"username": GUIDO, "password": DEMO_PASSWORD, "csrf_token": token, "pad": padding},
    )
    assert response.status_code == 303
