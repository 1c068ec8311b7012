"""Reading request bodies: request.stream, BODY_TIMEOUT, MAX_CONTENT_LENGTH and form limits."""

from __future__ import annotations

from pathlib import Path

import flask
import pytest
from quart import Quart, request

from quart_app import create_app

from ..support.app_settings import app_config


async def test_request_stream_is_gone_iterate_request_body_instead() -> None:
    app = Quart(__name__)

    @app.post("/echo")
    async def echo() -> str:
        try:
            await request.stream
        except NotImplementedError as error:
            refused = str(error)
        received = b"".join([chunk async for chunk in request.body])
        return f"{refused}: {received.decode()}"

    response = await app.test_client().post("/echo", data=b"spam and eggs")
    assert await response.get_data(as_text=True) == "Use body instead: spam and eggs"


def test_flask_reads_the_raw_body_from_request_stream() -> None:
    app = flask.Flask(__name__)

    @app.post("/echo")
    def echo() -> bytes:
        return flask.request.stream.read()

    assert app.test_client().post("/echo", data=b"spam and eggs").data == b"spam and eggs"


async def test_a_body_that_stops_arriving_is_408_after_body_timeout(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path, BODY_TIMEOUT=0.2))
    async with app.test_app():
        client = app.test_client()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": "100",
            "Accept": "application/json",
        }
        async with client.request("/login", method="POST", headers=headers) as connection:
            await connection.send(b"username=guido")
        response = await connection.as_response()
    assert response.status_code == 408
    assert (await response.get_json())["error"] == "Request Timeout"


async def test_max_content_length_holds_without_a_content_length_header(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path, MAX_CONTENT_LENGTH=1024))
    async with app.test_app():
        client = app.test_client()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
        async with client.request("/login", method="POST", headers=headers) as connection:
            for _ in range(8):
                await connection.send(b"x" * 512)
            await connection.send_complete()
        response = await connection.as_response()
    assert response.status_code == 413
    assert "413 Request Entity Too Large" in await response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("setting", "in_flask", "in_quart"),
    [
        ("MAX_CONTENT_LENGTH", None, 16 * 1024 * 1024),
        ("MAX_FORM_MEMORY_SIZE", 500_000, 500_000),
        ("MAX_FORM_PARTS", 1_000, 1_000),
        ("BODY_TIMEOUT", "absent", 60),
        ("RESPONSE_TIMEOUT", "absent", 60),
        ("SEND_FILE_MAX_AGE_DEFAULT", None, "12 hours"),
    ],
)
def test_default_limits_differ_between_flask_and_quart(
    setting: str, in_flask: object, in_quart: object
) -> None:
    def shown(value: object) -> object:
        return (
            f"{value.total_seconds() / 3600:g} hours" if hasattr(value, "total_seconds") else value
        )

    assert shown(flask.Flask.default_config.get(setting, "absent")) == in_flask
    assert shown(Quart.default_config.get(setting, "absent")) == in_quart


async def test_request_max_content_length_bounds_a_flask_form_not_a_quart_one() -> None:
    note = {"note": "x" * 2048}
    flask_app = flask.Flask(__name__)

    @flask_app.post("/note")
    def flask_note() -> str:
        flask.request.max_content_length = 1024
        return str(len(flask.request.form["note"]))

    quart_app = Quart(__name__)

    @quart_app.post("/note")
    async def quart_note() -> str:
        request.max_content_length = 1024
        return str(len((await request.form)["note"]))

    assert flask_app.test_client().post("/note", data=note).status_code == 413
    response = await quart_app.test_client().post("/note", form=note)
    assert await response.get_data(as_text=True) == "2048"
