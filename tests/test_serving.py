"""Hypercorn serves the app as it documents: TLS, HTTP/2, several workers."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from .support.app_settings import server_env
from .support.live_server import hypercorn_server, quart_dev_server
from .support.sign_in import http_sign_in

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_serves_http2_and_marks_cookies_secure(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    tls_args = ("--certfile", str(cert), "--keyfile", str(key))
    with hypercorn_server(server_env(tmp_path), extra_args=tls_args) as base_url:
        context = ssl.create_default_context(cafile=str(cert))
        https_url = base_url.replace("http://", "https://")
        async with httpx.AsyncClient(
            base_url=https_url, verify=context, http2=True, timeout=10
        ) as http:
            login = await http_sign_in(http)
            assert login.http_version == "HTTP/2"
            assert "max-age" in login.headers["strict-transport-security"]
            cookies = login.headers.get_list("set-cookie")
            assert cookies
            assert all("Secure" in cookie for cookie in cookies)


async def test_plain_http_cookies_are_not_secure(live_server: str) -> None:
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        form = await http.get("/login")
        assert all("Secure" not in c for c in form.headers.get_list("set-cookie"))
        assert "strict-transport-security" not in form.headers


async def test_two_workers_serve_the_site(tmp_path: Path) -> None:
    with hypercorn_server(server_env(tmp_path), extra_args=("--workers", "2")) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            for _ in range(10):
                response = await http.get("/users/guido-van-rossum")
                assert response.status_code == 200


async def test_quart_run_serves_the_site_for_development(tmp_path: Path) -> None:
    with quart_dev_server(server_env(tmp_path)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            assert "Hello World!" in (await http.get("/")).text
            login = await http_sign_in(http)
            assert login.headers["location"] == "/users/guido-van-rossum"
