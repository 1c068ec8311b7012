"""App lifecycle, configuration and sessions across the port."""

from __future__ import annotations

import re
from pathlib import Path

import flask
import pytest
import quart
from flask.testing import FlaskClient
from quart import Quart, session
from quart.testing import QuartClient

from examples.flask_app import create_app as create_flask_app
from quart_app import create_app as create_quart_app

from ..support.app_settings import app_config

_SESSION_COOKIE = re.compile(r"quart_app_session=([^;]+)")


def test_before_first_request_is_gone_from_both() -> None:
    assert not hasattr(flask.Flask, "before_first_request")
    assert not hasattr(quart.Quart, "before_first_request")


def test_serving_hooks_exist_in_quart_only() -> None:
    for hook in ("before_serving", "after_serving", "while_serving"):
        assert hasattr(quart.Quart, hook)
        assert not hasattr(flask.Flask, hook)
    for hook in ("before_app_serving", "after_app_serving", "while_app_serving"):
        assert hasattr(quart.Blueprint, hook)
        assert not hasattr(flask.Blueprint, hook)


async def test_blueprint_startup_hooks_run_once_before_the_first_request() -> None:
    app = Quart(__name__)
    blueprint = quart.Blueprint("setup", __name__)
    events: list[str] = []

    @blueprint.before_app_serving
    async def open_resources() -> None:
        events.append("before serving")

    @blueprint.get("/")
    async def index() -> str:
        events.append("request")
        return "ok"

    app.register_blueprint(blueprint)
    async with app.test_app():
        client = app.test_client()
        await client.get("/")
        await client.get("/")
    assert events == ["before serving", "request", "request"]


async def test_app_context_is_async_only_in_quart() -> None:
    app = Quart(__name__)
    context = app.app_context()
    assert not hasattr(context, "__enter__")
    async with context:
        assert quart.current_app.name == app.name


def test_quart_renders_the_same_templates_with_jinja_in_async_mode(tmp_path: Path) -> None:
    flask_app = create_flask_app(app_config(tmp_path / "flask", SEED_DEMO_USERS=False))
    quart_app = create_quart_app(app_config(tmp_path / "quart"))
    assert quart_app.jinja_env.is_async
    assert not flask_app.jinja_env.is_async
    assert flask_app.template_folder == quart_app.template_folder


_FORM_TEMPLATE = "{{ request.form['title'] }}|{{ request.form.get('body', '-') }}"


async def test_templates_read_the_form_without_an_await_in_both() -> None:
    """Quart's async Jinja awaits `request.form` itself, so such templates port unchanged."""
    flask_app = flask.Flask(__name__)
    quart_app = Quart(__name__)

    @flask_app.post("/")
    def flask_view() -> str:
        return flask.render_template_string(_FORM_TEMPLATE)

    @quart_app.post("/")
    async def quart_view() -> str:
        return await quart.render_template_string(_FORM_TEMPLATE)

    flask_page = flask_app.test_client().post("/", data={"title": "Hi"}).get_data(as_text=True)
    quart_response = await quart_app.test_client().post("/", form={"title": "Hi"})
    assert flask_page == await quart_response.get_data(as_text=True) == "Hi|-"


def test_from_prefixed_env_reads_flask_or_quart_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLASK_API_KEY", "from-flask-env")
    monkeypatch.setenv("QUART_API_KEY", "from-quart-env")
    flask_app = flask.Flask(__name__)
    quart_app = Quart(__name__)
    flask_app.config.from_prefixed_env()
    quart_app.config.from_prefixed_env()
    assert flask_app.config["API_KEY"] == "from-flask-env"
    assert quart_app.config["API_KEY"] == "from-quart-env"


async def test_sessions_signed_by_the_flask_app_survive_the_port(
    tmp_path: Path, client: QuartClient
) -> None:
    flask_client: FlaskClient = create_flask_app(app_config(tmp_path / "flask")).test_client()
    page = flask_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    signed_in = flask_client.post(
        "/login",
        data={
            "username": "ada-lovelace",
            "password": "test-demo-password",
            "csrf_token": token.group(1),
        },
    )
    cookie = _SESSION_COOKIE.search(" ".join(signed_in.headers.getlist("Set-Cookie")))
    assert cookie
    client.set_cookie("localhost", "quart_app_session", cookie.group(1))
    body = await (await client.get("/upload")).get_data(as_text=True)
    # The navigation names the user signed in by the Flask app.
    assert '<span class="account-name">ada-lovelace</span>' in body
    assert "Signed in as ada-lovelace." in body


async def test_plain_quart_sends_no_vary_cookie_for_a_session_read_but_this_app_does(
    client: QuartClient,
) -> None:
    app = Quart(__name__)
    app.config["SECRET_KEY"] = "vary"

    @app.get("/")
    async def who() -> str:
        return str(session.get("user"))

    plain = await app.test_client().get("/")
    assert "Vary" not in plain.headers
    flask_app = flask.Flask(__name__)
    flask_app.config["SECRET_KEY"] = "vary"
    flask_app.add_url_rule("/", "who", lambda: str(flask.session.get("user")))
    assert flask_app.test_client().get("/").headers["Vary"] == "Cookie"
    ours = await client.get("/")
    assert ours.headers["Vary"] == "Cookie"


def test_quart_app_loads_this_repositorys_own_settings_through_quart_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUART_API_KEY", "quart-key")
    monkeypatch.setenv("FLASK_API_KEY", "flask-key")
    config = {"DATABASE": str(tmp_path / "q.sqlite3"), "SEED_DEMO_USERS": False}
    assert create_quart_app(config).config["API_KEY"] == "quart-key"
    flask_config = {"DATABASE": str(tmp_path / "f.sqlite3"), "SEED_DEMO_USERS": False}
    assert create_flask_app(flask_config).config["API_KEY"] == "flask-key"
