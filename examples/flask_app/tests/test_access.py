from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask, g, request
from flask.testing import FlaskClient

from ..access import caller_required
from ..db import get_user_store
from .conftest import API_KEY, csrf_token_from, sign_in

JSON = {"Accept": "application/json"}
GUIDO = "guido-van-rossum"


def _word_list() -> dict[str, tuple[io.BytesIO, str]]:
    return {"wordlist-upload": (io.BytesIO(b"alpha\n"), "words.txt")}


def _stored(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


@pytest.fixture
def probe(app: Flask) -> FlaskClient:
    """A client of `app` with /probe, a view guarded by caller_required() that names its caller."""

    @caller_required()
    def who_calls() -> str:
        return f"{request.method} by {g.caller.username or 'API key'}"

    app.add_url_rule("/probe", view_func=who_calls, methods=["GET", "POST"])
    return app.test_client()


def test_caller_required_records_the_api_key_client(probe: FlaskClient) -> None:
    response = probe.post("/probe", headers={"X-API-Key": API_KEY})
    assert response.get_data(as_text=True) == "POST by API key"


def test_caller_required_records_the_signed_in_user_and_lets_reads_skip_csrf(
    probe: FlaskClient,
) -> None:
    sign_in(probe)
    assert probe.get("/probe").get_data(as_text=True) == f"GET by {GUIDO}"
    assert probe.post("/probe").status_code == 400


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"X-API-Key": "wrong"}, 403), ({"X-API-Key": ""}, 401)],
    ids=["no-credentials", "wrong-key", "empty-key"],
)
def test_upload_without_valid_credentials_is_refused_unwritten(
    client: FlaskClient, uploads_dir: Path, headers: dict[str, str], status: int
) -> None:
    response = client.post("/upload", headers={**headers, **JSON}, data=_word_list())
    assert response.status_code == status
    assert response.get_json()["status"] == status
    assert _stored(uploads_dir) == []


def test_a_wrong_key_is_403_even_for_a_signed_in_user(
    client: FlaskClient, uploads_dir: Path
) -> None:
    sign_in(client)
    token = csrf_token_from(client, "/upload")
    response = client.post(
        "/upload",
        headers={"X-API-Key": "wrong", **JSON},
        data={"csrf_token": token, **_word_list()},
    )
    assert response.status_code == 403
    assert _stored(uploads_dir) == []


@pytest.mark.parametrize("where", ["form", "header"])
def test_a_signed_in_upload_carries_the_csrf_token_in_the_form_or_the_header(
    client: FlaskClient, uploads_dir: Path, where: str
) -> None:
    sign_in(client)
    token = csrf_token_from(client, "/upload")
    if where == "form":
        response = client.post("/upload", data={"csrf_token": token, **_word_list()})
    else:
        response = client.post("/upload", headers={"X-CSRF-Token": token}, data=_word_list())
    assert response.status_code == 201
    assert len(_stored(uploads_dir)) == 1


def test_a_signed_in_upload_with_a_forged_csrf_token_is_400_unwritten(
    client: FlaskClient, uploads_dir: Path
) -> None:
    sign_in(client)
    csrf_token_from(client, "/upload")
    response = client.post(
        "/upload", headers={"X-CSRF-Token": "forged", **JSON}, data=_word_list()
    )
    assert response.status_code == 400
    assert _stored(uploads_dir) == []


def test_an_api_key_client_needs_no_csrf_token(client: FlaskClient, uploads_dir: Path) -> None:
    response = client.post("/upload", headers={"X-API-Key": API_KEY}, data=_word_list())
    assert response.status_code == 201
    assert len(_stored(uploads_dir)) == 1


def test_a_session_of_an_ended_generation_is_cleared(app: Flask, client: FlaskClient) -> None:
    sign_in(client)
    get_user_store().end_sessions(GUIDO)
    response = client.post("/upload", headers=JSON, data=_word_list())
    assert response.status_code == 401
    assert any(c.startswith("quart_app_session=;") for c in response.headers.getlist("Set-Cookie"))


def test_a_session_naming_no_such_user_signs_nobody_in(client: FlaskClient) -> None:
    with client.session_transaction() as session:
        session["user"] = "nobody"
        session["generation"] = 0
    page = client.get("/upload").get_data(as_text=True)
    assert 'class="account-name"' not in page
