from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from .conftest import API_KEY


def test_valid_key_tells_join_date(client: FlaskClient) -> None:
    response = client.get(f"/api/users/guido-van-rossum?key={API_KEY}")
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "User guido-van-rossum joined on 1991-02-20"


def test_json_clients_get_json(client: FlaskClient) -> None:
    response = client.get(
        "/api/users/ada-lovelace", headers={"X-API-Key": API_KEY, "Accept": "application/json"}
    )
    assert response.get_json() == {
        "username": "ada-lovelace",
        "joined_on": "1843-09-01",
        "message": "User ada-lovelace joined on 1843-09-01",
    }


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/users/guido-van-rossum", 401, "No key provided"),
        ("/api/users/guido-van-rossum?key=pA55w0Rd", 403, "Incorrect key"),
        (f"/api/users/nobody?key={API_KEY}", 404, "User not found"),
    ],
)
def test_refusals(client: FlaskClient, path: str, status: int, message: str) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.get_data(as_text=True) == message
