"""Which Quart calls must be awaited and which must not: the guide's "Awaitables" table."""

from __future__ import annotations

import inspect

import flask
import pytest
import quart
import werkzeug.datastructures
from quart import Quart, current_app, g, request, session
from quart.datastructures import FileStorage

# The guide's table, as data: name -> must it be awaited in Quart? In Flask none is awaited.
AWAIT_TABLE: dict[str, bool] = {
    "request.form": True,
    "request.files": True,
    "request.values": True,
    "request.data": True,
    "request.json": True,
    "request.body": True,
    "request.get_data()": True,
    "request.get_json()": True,
    "render_template()": True,
    "render_template_string()": True,
    "flash()": True,
    "make_response()": True,
    "send_file()": True,
    "send_from_directory()": True,
    "FileStorage.save()": True,
    "response.get_data()": True,
    "request.args": False,
    "request.cookies": False,
    "request.headers": False,
    "request.method": False,
    "request.accept_mimetypes": False,
    "session": False,
    "g": False,
    "current_app.config": False,
    "url_for()": False,
    "redirect()": False,
    "jsonify()": False,
    "abort()": False,
    "get_flashed_messages()": False,
}

_FUNCTIONS = [name for name in AWAIT_TABLE if name.endswith("()") and "." not in name]
_REQUEST_ATTRIBUTES = [
    name for name in AWAIT_TABLE if name.startswith("request.") and not name.endswith("()")
]


@pytest.mark.parametrize("name", _FUNCTIONS)
def test_helpers_are_coroutines_in_quart_only(name: str) -> None:
    function = name.removesuffix("()")
    assert inspect.iscoroutinefunction(getattr(quart, function)) is AWAIT_TABLE[name]
    assert not inspect.iscoroutinefunction(getattr(flask, function))


def test_request_methods_file_save_and_response_body_are_coroutines() -> None:
    assert inspect.iscoroutinefunction(quart.Request.get_data)
    assert inspect.iscoroutinefunction(quart.Request.get_json)
    assert inspect.iscoroutinefunction(FileStorage.save)
    assert inspect.iscoroutinefunction(quart.Response.get_data)
    assert not inspect.iscoroutinefunction(werkzeug.datastructures.FileStorage.save)
    assert not inspect.iscoroutinefunction(flask.Response.get_data)


async def test_request_attributes_are_awaitable_exactly_as_the_table_says() -> None:
    app = Quart(__name__)
    app.config["SECRET_KEY"] = "awaitables"
    seen: dict[str, bool] = {}

    @app.post("/")
    async def inspect_request() -> str:
        for name in _REQUEST_ATTRIBUTES:
            value = getattr(request, name.removeprefix("request."))
            seen[name] = inspect.isawaitable(value)
            if seen[name]:
                await value
        # The proxies themselves define __await__; what matters is the object behind them.
        for name, proxy in (("session", session), ("g", g)):
            seen[name] = inspect.isawaitable(proxy._get_current_object())  # type: ignore[union-attr]
        seen["current_app.config"] = inspect.isawaitable(current_app.config)
        return "inspected"

    response = await app.test_client().post("/?a=1", json={"b": 2})
    assert await response.get_data(as_text=True) == "inspected"
    expected = {name: AWAIT_TABLE[name] for name in seen}
    assert seen == expected


async def test_forgetting_await_on_the_form_fails_loudly() -> None:
    app = Quart(__name__)

    @app.post("/")
    async def forgetful() -> str:
        form = request.form
        try:
            return str(form.get("name"))  # type: ignore[attr-defined]
        except AttributeError as error:
            return str(error)
        finally:
            await form

    response = await app.test_client().post("/", form={"name": "guido"})
    assert await response.get_data(as_text=True) == "'coroutine' object has no attribute 'get'"
