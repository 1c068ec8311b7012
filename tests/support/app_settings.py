"""The configuration test apps and test servers start from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

API_KEY = "test-api-key"
DEMO_PASSWORD = "test-demo-password"


def app_config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """The configuration every test app starts from."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "API_KEY": API_KEY,
        "DEMO_PASSWORD": DEMO_PASSWORD,
        "DATABASE": str(tmp_path / "users.sqlite3"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        **overrides,
    }


def server_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The test configuration as the QUART_* variables of a served app, pointed at `tmp_path`."""
    (tmp_path / "uploads").mkdir(exist_ok=True)
    settings = {key: str(value) for key, value in app_config(tmp_path).items() if key != "TESTING"}
    return {f"QUART_{key}": value for key, value in {**settings, **overrides}.items()}
