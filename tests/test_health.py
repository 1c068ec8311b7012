"""/healthz: 200 while the database answers and the upload folder takes files, else 503."""

from __future__ import annotations

from pathlib import Path

from quart import Quart
from quart.testing import QuartClient

from quart_app.version import VERSION


async def test_a_healthy_site_says_ok_with_its_version(client: QuartClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert await response.get_json() == {
        "status": "ok",
        "version": VERSION,
        "database_reachable": True,
        "upload_store_reachable": True,
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_missing_upload_folder_is_503(client: QuartClient, uploads_dir: Path) -> None:
    # As when the volume holding it is gone; it comes back for the store's own shutdown.
    moved = uploads_dir.rename(uploads_dir.with_name("unmounted"))
    response = await client.get("/healthz")
    moved.rename(uploads_dir)
    assert response.status_code == 503
    answer = await response.get_json()
    assert answer["status"] == "failing"
    assert (answer["database_reachable"], answer["upload_store_reachable"]) == (True, False)


async def test_an_unreadable_database_is_503(app: Quart, client: QuartClient) -> None:
    database = Path(app.config["DATABASE"])
    database.write_bytes(b"this is no longer an SQLite database" * 200)
    response = await client.get("/healthz")
    assert response.status_code == 503
    answer = await response.get_json()
    assert (answer["database_reachable"], answer["upload_store_reachable"]) == (False, True)


async def test_load_balancers_may_ask_with_head(client: QuartClient) -> None:
    # The test client keeps a HEAD body that servers drop (tests/porting/test_test_client.py).
    assert (await client.head("/healthz")).status_code == 200
