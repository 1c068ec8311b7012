from __future__ import annotations

import pytest
from quart.testing import QuartClient

from .support.app_settings import API_KEY


async def test_valid_key_tells_join_date(client: QuartClient) -> None:
    response = await client.get(f"/api/users/guido-van-rossum?key={API_KEY}")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert await response.get_data(as_text=True) == "User guido-van-rossum joined on 1991-02-20"


async def test_key_in_header_is_accepted(client: QuartClient) -> None:
    response = await client.get("/api/users/ada-lovelace", headers={"X-API-Key": API_KEY})
    assert await response.get_data(as_text=True) == "User ada-lovelace joined on 1843-09-01"


async def test_json_clients_get_json(client: QuartClient) -> None:
    response = await client.get(
        "/api/users/guido-van-rossum", headers={"X-API-Key": API_KEY, "Accept": "application/json"}
    )
    assert await response.get_json() == {
        "username": "guido-van-rossum",
        "joined_on": "1991-02-20",
        "message": "User guido-van-rossum joined on 1991-02-20",
    }


@pytest.mark.parametrize(
    ("query", "headers", "status", "message"),
    [
        ("", {}, 401, "No key provided"),
        ("?key=", {}, 401, "No key provided"),
        ("?key=pA55w0Rd", {}, 403, "Incorrect key"),
        ("?key=wrong", {}, 403, "Incorrect key"),
        ("", {"X-API-Key": "wrong"}, 403, "Incorrect key"),
        (f"?key={API_KEY}x", {}, 403, "Incorrect key"),
    ],
)
async def test_bad_keys_are_refused(
    client: QuartClient, query: str, headers: dict[str, str], status: int, message: str
) -> None:
    response = await client.get(f"/api/users/guido-van-rossum{query}", headers=headers)
    assert response.status_code == status
    assert await response.get_data(as_text=True) == message


async def test_missing_key_carries_www_authenticate(client: QuartClient) -> None:
    response = await client.get("/api/users/guido-van-rossum")
    assert "X-API-Key" in response.headers["WWW-Authenticate"]


async def test_unknown_user_is_404(client: QuartClient) -> None:
    response = await client.get(f"/api/users/nobody?key={API_KEY}")
    assert response.status_code == 404
    assert await response.get_data(as_text=True) == "User not found"


async def test_errors_are_json_for_json_clients(client: QuartClient) -> None:
    response = await client.get(
        "/api/users/nobody", headers={"X-API-Key": API_KEY, "Accept": "application/json"}
    )
    assert await response.get_json() == {
        "status": 404,
        "error": "Not Found",
        "message": "User not found",
    }


async def test_wrong_key_is_checked_before_the_user(client: QuartClient) -> None:
    response = await client.get("/api/users/nobody?key=wrong")
    assert response.status_code == 403


async def test_browsers_get_an_html_page_with_escaped_input(client: QuartClient) -> None:
    response = await client.get(
        "/api/users/<b>x<b>",
        headers={"X-API-Key": API_KEY, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "User not found" in body
    assert "<b>x<b>" not in body


async def test_text_answer_does_not_sniff_as_html(client: QuartClient) -> None:
    response = await client.get(f"/api/users/guido-van-rossum?key={API_KEY}")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_configured_key_replaces_the_development_default(client: QuartClient) -> None:
    response = await client.get("/api/users/guido-van-rossum?key=pA55w0Rd")
    assert response.status_code == 403
