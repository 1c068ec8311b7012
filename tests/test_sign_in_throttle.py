"""Sign-in: wrong passwords are throttled per account and per address, across all workers."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest
from quart import Quart
from quart.testing import QuartClient

from quart_app.sign_in_throttle import seconds_to_wait

from .support.app_settings import DEMO_PASSWORD, server_env
from .support.live_server import quart_app_server
from .support.raw_http import RawResponse
from .support.sign_in import csrf_token_from
from .support.workers import KeptAlive, one_connection_per_worker


@pytest.fixture
def app(app_on_each_database: Quart) -> Quart:
    """The app, with its users in SQLite, then in PostgreSQL."""
    return app_on_each_database


GUIDO = "guido-van-rossum"


@pytest.mark.parametrize(
    ("failures", "limit", "wait"),
    [
        ([], 5, 0.0),
        ([100.0] * 4, 5, 0.0),
        ([100.0, 110.0, 120.0, 130.0, 140.0], 5, 100.0 + 900 - 200),
        ([0.0, 150.0, 160.0, 170.0, 180.0, 190.0], 5, 150.0 + 900 - 200),
        ([-800.0, 110.0, 120.0, 130.0, 140.0], 5, 0.0),
    ],
)
def test_the_wait_lasts_until_the_oldest_counting_failure_leaves_the_window(
    failures: list[float], limit: int, wait: float
) -> None:
    assert seconds_to_wait(failures, limit=limit, window=900, now=200.0) == pytest.approx(wait)


async def attempt(client: QuartClient, username: str, password: str) -> tuple[int, str, str]:
    token = await csrf_token_from(client)
    response = await client.post(
        "/login", form={"username": username, "password": password, "csrf_token": token}
    )
    retry_after = response.headers.get("Retry-After", "")
    return response.status_code, retry_after, await response.get_data(as_text=True)


async def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    client: QuartClient,
) -> None:
    statuses = [(await attempt(client, GUIDO, f"guess-{i}"))[0] for i in range(5)]
    status, retry_after, page = await attempt(client, GUIDO, DEMO_PASSWORD)
    assert statuses == [401] * 5
    assert status == 429
    assert 0 < int(retry_after) <= 900
    assert "Too many failed sign-ins" in page
    assert (await attempt(client, "ada-lovelace", DEMO_PASSWORD))[0] == 303, "others may"


@pytest.mark.slow
async def test_a_right_password_forgets_the_accounts_failures(client: QuartClient) -> None:
    for _ in range(2):
        assert [(await attempt(client, GUIDO, "wrong"))[0] for _ in range(4)] == [401] * 4
        assert (await attempt(client, GUIDO, DEMO_PASSWORD))[0] == 303


@pytest.mark.slow
async def test_one_address_trying_many_accounts_is_throttled(client: QuartClient) -> None:
    statuses = [(await attempt(client, f"user-{i}", "wrong"))[0] for i in range(20)]
    assert statuses == [401] * 20
    assert (await attempt(client, GUIDO, DEMO_PASSWORD))[0] == 429


async def test_the_lock_ends_when_the_window_has_passed(
    client: QuartClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = 1_800_000_000.0
    monkeypatch.setattr("time.time", lambda: now)
    for _ in range(5):
        await attempt(client, GUIDO, "wrong")
    status, retry_after, _ = await attempt(client, GUIDO, DEMO_PASSWORD)
    assert (status, retry_after) == (429, "900")
    now += 901
    assert (await attempt(client, GUIDO, DEMO_PASSWORD))[0] == 303


async def sign_in_over(connection: KeptAlive, port: int, password: str) -> RawResponse:
    """A login POST over a kept-alive connection (its CSRF token read from the form first)."""
    form = await connection.send(f"GET /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    cookie = form.headers["set-cookie"].split(";", 1)[0]
    token = form.body.decode().split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    body = urllib.parse.urlencode(
        {"username": GUIDO, "password": password, "csrf_token": token}
    ).encode()
    return await connection.send(
        f"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


@pytest.mark.server
@pytest.mark.slow
async def test_failures_count_across_workers(tmp_path: Path) -> None:
    with quart_app_server(server_env(tmp_path)) as running:
        first, second = await one_connection_per_worker(running)
        statuses = [(await sign_in_over(first, running.port, "wrong")).status for _ in range(3)]
        statuses += [(await sign_in_over(second, running.port, "wrong")).status for _ in range(2)]
        locked = await sign_in_over(first, running.port, DEMO_PASSWORD)
        for connection in (first, second):
            connection.close()
    assert statuses == [401] * 5
    assert locked.status == 429 and int(locked.headers["retry-after"]) > 0
