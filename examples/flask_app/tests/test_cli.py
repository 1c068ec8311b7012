from __future__ import annotations

import sqlite3
from pathlib import Path

from .. import create_app
from .conftest import app_config


def test_init_db_adds_missing_demo_users(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path, SEED_DEMO_USERS=False))
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "3 demo users added" in result.output
    assert "0 demo users added" in app.test_cli_runner().invoke(args=["init-db"]).output


def test_add_user_stores_a_hash_and_refuses_duplicates(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path))
    args = ["add-user", "brian", "--password", "always-look", "--joined", "1979-08-17"]
    assert app.test_cli_runner().invoke(args=args).exit_code == 0
    with sqlite3.connect(tmp_path / "users.sqlite3") as conn:
        joined, password_hash = conn.execute(
            "SELECT joined_on, password_hash FROM users WHERE username = 'brian'"
        ).fetchone()
    assert joined == "1979-08-17"
    assert password_hash != "always-look"
    duplicate = app.test_cli_runner().invoke(args=args)
    assert duplicate.exit_code != 0
    assert "already exists" in duplicate.output
