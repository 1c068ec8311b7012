from __future__ import annotations

import pytest

from quart_app.config import database_location_from, default_config
from quart_app.database import DatabaseLocation, database_location


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("instance/users.sqlite3", DatabaseLocation("sqlite", "instance/users.sqlite3")),
        ("sqlite:///instance/users.sqlite3", DatabaseLocation("sqlite", "instance/users.sqlite3")),
        ("sqlite:////var/lib/users.sqlite3", DatabaseLocation("sqlite", "/var/lib/users.sqlite3")),
        (
            "postgresql://app@db:5432/site",
            DatabaseLocation("postgresql", "postgresql://app@db:5432/site"),
        ),
        ("postgres://app@db/site", DatabaseLocation("postgresql", "postgres://app@db/site")),
    ],
)
def test_a_location_is_a_path_or_a_url(value: str, expected: DatabaseLocation) -> None:
    assert database_location(value) == expected


@pytest.mark.parametrize(
    "value", ["mysql://db/site", "sqlite:///", "postgresql:///site", "https://db/site"]
)
def test_other_urls_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"URL"):
        database_location(value)


def test_a_password_is_never_shown() -> None:
    location = database_location("postgresql://app:s3cret@db.internal:5432/site?sslmode=require")
    assert location.describe() == "postgresql://app:***@db.internal:5432/site?sslmode=require"
    assert database_location("postgresql://app@db/site").describe() == "postgresql://app@db/site"


def test_the_url_setting_wins_over_the_file() -> None:
    settings = {**default_config(), "DATABASE": "users.sqlite3"}
    assert database_location_from(settings) == DatabaseLocation("sqlite", "users.sqlite3")
    settings["DATABASE_URL"] = "postgresql://app@db/site"
    assert database_location_from(settings).kind == "postgresql"
