from __future__ import annotations

import pytest
from quart import Quart
from quart.testing import QuartClient

from quart_app.db import get_user_store


@pytest.fixture
def app(app_on_each_database: Quart) -> Quart:
    """The app, with its users in SQLite, then in PostgreSQL."""
    return app_on_each_database


XSS = "<img src=x onerror=alert(1)>"


async def test_guido_route_wins_over_the_parameter_route(app: Quart, client: QuartClient) -> None:
    adapter = app.url_map.bind("localhost")
    assert adapter.match("/users/guido-van-rossum")[0] == "users.guido"
    assert adapter.match("/users/ada-lovelace")[0] == "users.profile"
    body = await (await client.get("/users/guido-van-rossum")).get_data(as_text=True)
    assert "the tutorial's own route" in body


async def test_profile_shows_join_date_awards_and_title(client: QuartClient) -> None:
    response = await client.get("/users/guido-van-rossum")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>guido-van-rossum joined on the date 1991-02-20</h1>" in body
    assert "guido-van-rossum has the following awards:" in body
    assert "<li>Computer History Museum Fellow</li>" in body
    assert "Profile of guido-van-rossum" in body.split("</title>")[0]


async def test_profile_without_awards_says_so(client: QuartClient) -> None:
    body = await (await client.get("/users/grace-hopper")).get_data(as_text=True)
    assert "<h3>grace-hopper has no awards</h3>" in body
    assert "<ul>\n" not in body.split('id="content"')[1]


async def test_unknown_user_is_404_with_no_user_found(client: QuartClient) -> None:
    response = await client.get("/users/nobody")
    body = await response.get_data(as_text=True)
    assert response.status_code == 404
    assert "No user was found under that username" in body
    assert "No User Found" in body.split("</title>")[0]


async def test_unknown_user_name_is_escaped(client: QuartClient) -> None:
    response = await client.get(f"/users/{XSS}")
    body = await response.get_data(as_text=True)
    assert response.status_code == 404
    assert XSS not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


async def test_users_added_to_the_store_get_a_profile(app: Quart, client: QuartClient) -> None:
    async with app.app_context():
        await get_user_store().add("new-member", "pw-123456", awards=["First post"])
    body = await (await client.get("/users/new-member")).get_data(as_text=True)
    assert "<li>First post</li>" in body
