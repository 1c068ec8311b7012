"""Starting the site: `make serve` on a fresh folder, the start-up report, settings checked."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from pathlib import Path

import httpx
import pytest

from quart_app import create_app
from quart_app.config import SettingsError, check_settings, default_config
from quart_app.startup_report import startup_report

from .support.app_settings import app_config, server_env
from .support.live_server import (
    free_port,
    gunicorn_server,
    quart_app_serve_to_the_end,
    running,
    wait_until_listening,
)

REPORT_START = "quart_app "
DEMO_USERS = ("guido-van-rossum", "ada-lovelace", "grace-hopper")


def _fresh_environment(folder: Path) -> dict[str, str]:
    """The environment of a newcomer: no QUART_* settings but where the data goes."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QUART_")}
    environment["QUART_DATABASE"] = str(folder / "instance" / "users.sqlite3")
    environment["QUART_UPLOAD_FOLDER"] = str(folder / "uploads")
    return environment


@pytest.mark.server
@pytest.mark.slow
def test_make_serve_listens_where_told_and_reports_once_for_both_workers(
    tmp_path: Path,
) -> None:
    port = free_port()
    venv = Path(sys.prefix)
    command = [
        "make",
        "--no-print-directory",
        "serve",
        f"VENV={venv}",
        f"PORT={port}",
        "HOST=127.0.0.1",
        # The environment is installed already: make must not reinstall it.
        "--old-file",
        str(venv / ".run-installed"),
    ]
    output = tmp_path / "output.log"
    with output.open("wb") as log, running(command, _fresh_environment(tmp_path), log) as server:
        wait_until_listening(port, server)
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        api = httpx.get(
            f"http://127.0.0.1:{port}/api/users/ada-lovelace",
            headers={"X-API-Key": "pA55w0Rd"},
            timeout=10,
        )
    logged = output.read_text()
    assert page.status_code == 200, logged
    assert api.text == "User ada-lovelace joined on 1843-09-01"
    assert _users_in(tmp_path / "instance" / "users.sqlite3") == sorted(DEMO_USERS)
    reports = [line for line in logged.splitlines() if f"] {REPORT_START}" in line]
    assert len(reports) == 1, logged
    assert f"serves http://127.0.0.1:{port} with 2 workers" in reports[0]
    assert f"Sign in at http://127.0.0.1:{port}/login as {DEMO_USERS[0]}" in logged
    assert "with the password monty-python (the development default" in logged
    assert "Development defaults in use: SECRET_KEY, API_KEY and DEMO_PASSWORD" in logged
    assert logged.count("Seeded 3 demo users") == 1, logged
    assert "is the development default; set" not in logged, "workers repeat no warning"
    assert "Running on" not in logged, "the report says where, once"


def test_the_report_names_where_secrets_come_from_without_showing_them() -> None:
    settings = {**default_config(), "DEMO_PASSWORD": "s3cret-pw", "API_KEY": "k3y-from-env"}
    report = startup_report(settings, urls=["https://[::1]:8443"], workers=4)
    assert "serves https://[::1]:8443 with 4 workers" in report
    assert "with the password the value of QUART_DEMO_PASSWORD" in report
    assert "X-API-Key with the value of QUART_API_KEY" in report
    assert "s3cret-pw" not in report and "k3y-from-env" not in report
    assert "Development defaults in use: SECRET_KEY." in report


def test_the_report_says_where_uploads_go() -> None:
    local = startup_report({**default_config(), "UPLOAD_FOLDER": "/srv/up"}, urls=[], workers=1)
    assert "uploads in /srv/up." in local
    s3 = {
        **default_config(),
        "UPLOAD_FOLDER": "/srv/up",
        "UPLOAD_STORAGE": "s3",
        "S3_BUCKET": "files",
        "S3_ENDPOINT_URL": "http://127.0.0.1:8333",
    }
    report = startup_report(s3, urls=[], workers=1)
    assert "uploads in s3://files/uploads/ at http://127.0.0.1:8333" in report
    assert "unfinished uploads in /srv/up." in report


def test_the_report_says_when_no_demo_users_are_added() -> None:
    report = startup_report({**default_config(), "SEED_DEMO_USERS": False}, urls=[], workers=1)
    assert "No demo users are added (QUART_SEED_DEMO_USERS is false)." in report
    assert "Sign in" not in report


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "UPLOAD_MAX_FILES",
            "abc",
            "QUART_UPLOAD_MAX_FILES must be a whole number, 0 or more, not 'abc'.",
        ),
        (
            "UPLOAD_MAX_FILES",
            "-1",
            "QUART_UPLOAD_MAX_FILES must be a whole number, 0 or more, not -1.",
        ),
        (
            "UPLOADS_PER_PAGE",
            "0",
            "QUART_UPLOADS_PER_PAGE must be a whole number, 1 or more, not 0.",
        ),
        (
            "UPLOAD_IDLE_TIMEOUT",
            "soon",
            "QUART_UPLOAD_IDLE_TIMEOUT must be a number of seconds above 0, not 'soon'.",
        ),
        ("UPLOAD_FSYNC", "yes", "QUART_UPLOAD_FSYNC must be true or false, not 'yes'."),
        (
            "UPLOAD_QUOTA",
            "1.5",
            "QUART_UPLOAD_QUOTA must be a number of bytes, or null for no limit, not 1.5.",
        ),
        (
            "UPLOAD_ALLOWED_EXTENSIONS",
            "[1, 2]",
            "QUART_UPLOAD_ALLOWED_EXTENSIONS must be a JSON list of names",
        ),
        ("SECRET_KEY", '""', "QUART_SECRET_KEY must be non-empty text, not ''."),
        ("SEED_DEMO_USERS", "1", "QUART_SEED_DEMO_USERS must be true or false, not 1."),
        ("UPLOAD_STORAGE", "gcs", 'QUART_UPLOAD_STORAGE must be "local" or "s3", not \'gcs\'.'),
        (
            "DATABASE_URL",
            "mysql://db/users",
            "QUART_DATABASE_URL must be a postgresql://user:password@host:port/name or"
            " sqlite:///path URL, or null, not 'mysql://db/users'.",
        ),
        ("DATABASE_URL", "users.sqlite3", "QUART_DATABASE_URL must be a postgresql://"),
        ("DATABASE_URL", "postgresql:///users", "QUART_DATABASE_URL must be a postgresql://"),
        (
            "S3_PART_SIZE",
            "1048576",
            "QUART_S3_PART_SIZE must be a number of bytes, 5242880 (5 MiB, S3's minimum part)",
        ),
    ],
)
def test_a_wrong_setting_stops_the_app_with_its_name_and_what_it_expects(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"QUART_{variable}", value)
    config = {key: v for key, v in app_config(tmp_path).items() if key != variable}
    with pytest.raises(SettingsError) as refused:
        create_app(config)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("UPLOAD_MAX_FILES", "7", 7),
        ("UPLOAD_IDLE_TIMEOUT", "2", 2),
        ("UPLOAD_QUOTA", "null", None),
        ("UPLOAD_ALLOWED_EXTENSIONS", '["txt", "csv"]', ["txt", "csv"]),
        ("UPLOAD_ALLOWED_EXTENSIONS", "txt,csv", "txt,csv"),
        ("UPLOAD_FSYNC", "false", False),
    ],
)
def test_right_settings_are_taken_as_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, expected: object
) -> None:
    monkeypatch.setenv(f"QUART_{variable}", value)
    assert create_app(app_config(tmp_path)).config[variable] == expected


def test_every_default_passes_the_check() -> None:
    check_settings(default_config())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "QUART_S3_BUCKET must name a bucket when QUART_UPLOAD_STORAGE is s3."),
        (
            {"S3_BUCKET": "files", "UPLOAD_MAX_FILE_SIZE": 60 * 1024**3},
            "QUART_S3_PART_SIZE must be at least 1/10000 of the largest upload (64424509440"
            " bytes): S3 takes at most 10000 parts.",
        ),
        (
            {"S3_BUCKET": "files", "S3_BUFFER_TOTAL": 1024},
            "QUART_S3_BUFFER_TOTAL must hold at least one part"
            " (QUART_S3_PART_SIZE, 5242880 bytes).",
        ),
    ],
)
def test_s3_storage_needs_a_bucket_and_room_for_a_part(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        check_settings({**default_config(), "UPLOAD_STORAGE": "s3", **settings})
    assert str(refused.value) == message


def test_quart_app_serve_refuses_a_wrong_setting_in_one_line(tmp_path: Path) -> None:
    result = quart_app_serve_to_the_end(
        server_env(tmp_path, UPLOAD_MAX_FILES="abc"), "--bind", f"127.0.0.1:{free_port()}"
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "quart-app: QUART_UPLOAD_MAX_FILES must be a whole number, 0 or more, not 'abc'."
    ]
    assert not (tmp_path / "users.sqlite3").exists(), "nothing started"


@pytest.mark.server
@pytest.mark.slow
def test_the_flask_original_starts_two_workers_on_an_empty_folder(tmp_path: Path) -> None:
    environment = {
        key.replace("QUART_", "FLASK_", 1): value for key, value in server_env(tmp_path).items()
    }
    with (
        gunicorn_server(environment, extra_args=("--workers", "2")) as base_url,
        httpx.Client(base_url=base_url, timeout=10) as http,
    ):
        # Each worker builds the app, and so seeds, before it answers: both answered, both did.
        answers = [http.get("/users/grace-hopper").status_code for _ in range(6)]
    assert answers == [200] * 6
    assert _users_in(tmp_path / "users.sqlite3") == sorted(DEMO_USERS)


def _users_in(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return sorted(row[0] for row in connection.execute("SELECT username FROM users"))
