from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

from quart_app import create_app

from .support.app_settings import app_config


def test_init_db_creates_the_demo_users(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path))
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "3 demo users added" in result.output
    with sqlite3.connect(tmp_path / "users.sqlite3") as conn:
        names = {row[0] for row in conn.execute("SELECT username FROM users")}
    assert "guido-van-rossum" in names
    again = app.test_cli_runner().invoke(args=["init-db"])
    assert "0 demo users added" in again.output


def test_add_user_stores_a_hash_and_refuses_duplicates(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path))
    runner = app.test_cli_runner()
    args = [
        "add-user",
        "brian",
        "--password",
        "always-look",
        "--joined",
        "1979-08-17",
        "--award",
        "Not the Messiah",
    ]
    assert runner.invoke(args=args).exit_code == 0
    with sqlite3.connect(tmp_path / "users.sqlite3") as conn:
        joined, password_hash = conn.execute(
            "SELECT joined_on, password_hash FROM users WHERE username = 'brian'"
        ).fetchone()
    assert joined == "1979-08-17"
    assert password_hash != "always-look" and password_hash.startswith(("scrypt:", "pbkdf2:"))
    duplicate = runner.invoke(args=args)
    assert duplicate.exit_code != 0
    assert "already exists" in duplicate.output


def test_a_database_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    url = f"postgresql://app:s3cret@127.0.0.1:{dead_port}/site"
    app = create_app(app_config(tmp_path, DATABASE_URL=url))
    for args in (["init-db"], ["add-user", "brian", "--password", "pw"]):
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code == 1
        assert result.output.startswith(
            f"Error: The database postgresql://app:***@127.0.0.1:{dead_port}/site does not"
            " answer ("
        ), result.output
        assert "s3cret" not in result.output
