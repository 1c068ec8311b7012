from __future__ import annotations

import logging
from pathlib import Path

import pytest

from quart_app import create_app
from quart_app.config import DEV_API_KEY, DEV_SECRET_KEY

from .support.app_settings import app_config


def test_development_defaults_work_and_are_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("QUART_SECRET_KEY", "QUART_API_KEY", "QUART_DEMO_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.WARNING):
        app = create_app()
    assert app.config["SECRET_KEY"] == DEV_SECRET_KEY
    assert app.config["API_KEY"] == DEV_API_KEY
    messages = " ".join(record.getMessage() for record in caplog.records)
    for setting in ("SECRET_KEY", "API_KEY", "DEMO_PASSWORD"):
        assert f"set QUART_{setting}" in messages


def test_environment_overrides_defaults_and_mapping_overrides_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("QUART_SECRET_KEY", "from-env")
    monkeypatch.setenv("QUART_API_KEY", "env-key")
    monkeypatch.setenv("QUART_DEMO_PASSWORD", "env-password")
    monkeypatch.setenv("QUART_MAX_CONTENT_LENGTH", "1234")
    with caplog.at_level(logging.WARNING):
        app = create_app({"API_KEY": "mapping-key"})
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["MAX_CONTENT_LENGTH"] == 1234
    assert app.config["API_KEY"] == "mapping-key"
    assert not [r for r in caplog.records if "development default" in r.getMessage()]


def test_templates_and_static_do_not_depend_on_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    app = create_app(app_config(tmp_path))
    assert app.template_folder is not None
    assert (Path(app.root_path) / app.template_folder / "base.html").is_file()
    assert app.static_folder is not None
    assert (Path(app.static_folder) / "styles" / "site.css").is_file()


def test_session_cookie_is_httponly_and_lax(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path))
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
