"""Walk the site over HTTP against real Hypercorn."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest

from .support.app_settings import API_KEY
from .support.sign_in import csrf_token_in, http_sign_in

pytestmark = [pytest.mark.server, pytest.mark.slow]


async def test_walk_the_site_over_http(live_server: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        home = await http.get("/")
        assert home.status_code == 200
        assert "Hello World!" in home.text
        assert home.headers["server"].lower().startswith("hypercorn")

        about = await http.get("/about")
        for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', about.text):
            assert (await http.get(asset)).status_code == 200

        assert "joined on the date 1991-02-20" in (await http.get("/users/guido-van-rossum")).text
        assert (await http.get("/users/nobody")).status_code == 404
        assert "Yes! We are located in Cairo" in (await http.get("/stores/locations/cairo")).text

        api = await http.get("/api/users/guido-van-rossum", params={"key": API_KEY})
        assert api.text == "User guido-van-rossum joined on 1991-02-20"
        assert (await http.get("/api/users/guido-van-rossum")).status_code == 401

        assert (await http.delete("/login")).status_code == 405

        login = await http_sign_in(http)
        profile = await http.get(login.headers["location"])
        assert "Signed in as" in profile.text
        assert "Your stored username is guido-van-rossum" in (await http.get("/home")).text

        upload_page = await http.get("/upload")
        content = b"spam\neggs\n" * 1000
        upload = await http.post(
            "/upload",
            data={"csrf_token": csrf_token_in(upload_page.text)},
            files={"wordlist-upload": ("words.txt", content, "text/plain")},
            headers={"Accept": "application/json"},
        )
        assert upload.status_code == 201
        stored = upload.json()["files"][0]
        assert stored["sha256"] == hashlib.sha256(content).hexdigest()
        assert (tmp_path / "uploads" / stored["name"]).read_bytes() == content
