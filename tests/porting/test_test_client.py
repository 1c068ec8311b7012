"""How Quart's test client differs from Flask's, shown on the two apps of this repository."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from quart.datastructures import FileStorage
from quart.testing import QuartClient
from werkzeug.datastructures import MultiDict

from examples.flask_app import create_app as create_flask_app
from quart_app import create_app as create_quart_app

from ..support.app_settings import API_KEY, app_config


@pytest.fixture
def flask_client(tmp_path: Path) -> FlaskClient:
    """A client of the Flask original with its own database."""
    return create_flask_app(app_config(tmp_path / "flask")).test_client()


async def test_cookies_take_the_server_name_first_in_quart(
    flask_client: FlaskClient, client: QuartClient
) -> None:
    flask_client.set_cookie("username", "ada-lovelace")
    client.set_cookie("localhost", "username", "ada-lovelace")
    flask_body = flask_client.get("/home").get_data(as_text=True)
    quart_body = await (await client.get("/home")).get_data(as_text=True)
    assert "Your stored username is ada-lovelace" in flask_body
    assert "Your stored username is ada-lovelace" in quart_body


async def test_files_go_in_data_for_flask_and_in_files_for_quart(
    flask_client: FlaskClient, client: QuartClient
) -> None:
    headers = {"X-API-Key": API_KEY}
    flask_answer = flask_client.post(
        "/upload",
        headers=headers,
        data={"wordlist-upload": (io.BytesIO(b"spam\n"), "words.txt")},
    )
    quart_answer = await client.post(
        "/upload",
        headers=headers,
        files={"wordlist-upload": FileStorage(io.BytesIO(b"spam\n"), filename="words.txt")},
    )
    assert flask_answer.status_code == quart_answer.status_code == 201
    assert flask_answer.get_json()["files"][0]["size"] == 5
    assert (await quart_answer.get_json())["files"][0]["size"] == 5


async def test_quart_files_argument_sends_one_file_per_field(client: QuartClient) -> None:
    files = MultiDict(
        [
            ("wordlist-upload", FileStorage(io.BytesIO(b"one"), filename="one.txt")),
            ("wordlist-upload", FileStorage(io.BytesIO(b"two"), filename="two.txt")),
        ]
    )
    response = await client.post("/upload", headers={"X-API-Key": API_KEY}, files=files)
    assert [entry["original_name"] for entry in (await response.get_json())["files"]] == [
        "one.txt"
    ]


async def test_quart_test_client_keeps_a_head_body_that_servers_drop(
    flask_client: FlaskClient, client: QuartClient
) -> None:
    assert flask_client.head("/").data == b""
    quart_head = await client.head("/")
    assert b"Hello World!" in await quart_head.get_data()


async def test_before_serving_runs_only_inside_test_app(tmp_path: Path) -> None:
    app = create_quart_app(app_config(tmp_path))
    unstarted = await app.test_client().get("/users/ada-lovelace")
    assert unstarted.status_code == 500
    async with app.test_app():
        started = await app.test_client().get("/users/ada-lovelace")
    assert started.status_code == 200


def test_flask_static_responses_must_be_closed(flask_client: FlaskClient) -> None:
    with flask_client.get("/static/styles/site.css") as response:
        assert response.status_code == 200
        assert response.is_streamed
