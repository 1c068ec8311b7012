"""The site's own forms are small: a larger body is refused before it is read into memory."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from quart.testing import QuartClient

from .support.app_settings import server_env
from .support.live_server import quart_app_server
from .support.raw_http import read_raw_response
from .support.sign_in import csrf_token_from, sign_in


@pytest.mark.parametrize("path", ["/login", "/logout", "/uploads/a-000000000000.txt/delete"])
async def test_a_form_over_the_limit_is_413(client: QuartClient, path: str) -> None:
    await sign_in(client)
    token = await csrf_token_from(client, "/upload")
    response = await client.post(
        path,
        form={"csrf_token": token, "username": "x" * 20_000},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 413


@pytest.mark.server
@pytest.mark.slow
async def test_a_declared_64_mib_sign_in_is_refused_without_reading_it(tmp_path: Path) -> None:
    with quart_app_server(server_env(tmp_path)) as running:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        writer.write(
            f"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{running.port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {64 * 1024 * 1024}\r\n\r\n".encode()
            + b"username=a&password=b&"
        )
        await writer.drain()
        response = await read_raw_response(reader)
        writer.close()
    assert response.status == 413
