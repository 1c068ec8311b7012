"""PostgreSQL not answering: at start the server stops with one line; while serving, requests
that need it answer 503 with Retry-After, the health check says so, and all comes back with it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from quart import Quart

from quart_app import create_app

from .support.app_settings import app_config, server_env
from .support.live_server import free_port, quart_app_serve_to_the_end
from .support.postgres import PostgresServer, running_postgres
from .support.sign_in import Client, csrf_token_from, sign_in

pytestmark = [pytest.mark.slow]


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, which it may stop."""
    with running_postgres() as server:
        yield server


@pytest.fixture
async def app(tmp_path: Path, own_postgres: PostgresServer) -> AsyncIterator[Quart]:
    application = create_app(app_config(tmp_path, DATABASE_URL=own_postgres.url))
    async with application.test_app():
        yield application


async def test_requests_that_need_the_database_answer_503_while_it_is_down(
    app: Quart, own_postgres: PostgresServer, client: Client
) -> None:
    load_balancer = app.test_client()
    await sign_in(client)
    token = await csrf_token_from(client)
    own_postgres.stop()
    try:
        health = await load_balancer.get("/healthz")
        assert health.status_code == 503
        assert (await health.get_json())["database_reachable"] is False
        page = await client.get("/users/ada-lovelace")
        assert page.status_code == 503
        assert page.headers["Retry-After"] == "5"
        assert "The database is not answering; try again later." in await page.get_data(
            as_text=True
        )
        api = await client.get("/users/ada-lovelace", headers={"Accept": "application/json"})
        assert api.status_code == 503
        assert (await api.get_json())[
            "message"
        ] == "The database is not answering; try again later."
        sign_in_attempt = await client.post(
            "/login",
            form={"username": "ada-lovelace", "password": "x", "csrf_token": token},
        )
        assert sign_in_attempt.status_code == 503
    finally:
        own_postgres.start()
    assert (await load_balancer.get("/healthz")).status_code == 200
    assert (await client.get("/users/ada-lovelace")).status_code == 200


def test_a_database_that_does_not_answer_stops_the_start_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    url = f"postgresql://app:s3cret@127.0.0.1:{dead_port}/quart_app"
    env = server_env(tmp_path, DATABASE_URL=url)
    result = quart_app_serve_to_the_end(env, "--bind", f"127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr, "the password is not logged"
    assert (
        f"Cannot start: the database postgresql://app:***@127.0.0.1:{dead_port}/quart_app does"
        " not answer" in result.stderr
    ), result.stderr
