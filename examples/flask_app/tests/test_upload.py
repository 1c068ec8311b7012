from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from .. import create_app
from .conftest import API_KEY, app_config, csrf_token_from, sign_in

FIELD = "wordlist-upload"
JSON = {"Accept": "application/json"}


def word_list(name: str, content: bytes = b"alpha\nbeta\n") -> dict[str, Any]:
    return {FIELD: (io.BytesIO(content), name)}


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_signed_in_user_uploads_through_the_form(client: FlaskClient, uploads_dir: Path) -> None:
    sign_in(client)
    token = csrf_token_from(client, "/upload")
    content = b"hello\nworld\n"
    response = client.post(
        "/upload", data={"csrf_token": token, **word_list("words.txt", content)}
    )
    assert response.status_code == 201
    assert hashlib.sha256(content).hexdigest() in response.get_data(as_text=True)
    [stored] = stored_files(uploads_dir)
    assert stored.read_bytes() == content
    assert stored.name.startswith("words-") and stored.name.endswith(".txt")


def test_api_key_client_gets_json(client: FlaskClient, uploads_dir: Path) -> None:
    content = bytes(range(256)) * 10
    response = client.post(
        "/upload", headers={"X-API-Key": API_KEY}, data=word_list("bin.dat", content)
    )
    assert response.status_code == 201
    [entry] = response.get_json()["files"]
    assert entry["size"] == len(content)
    assert (uploads_dir / entry["name"]).read_bytes() == content


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "/tmp/evil.sh", "..", ".htaccess"])
def test_hostile_names_stay_inside_uploads(
    client: FlaskClient, uploads_dir: Path, hostile: str
) -> None:
    response = client.post(
        "/upload", headers={"X-API-Key": API_KEY}, data=word_list(hostile, b"payload")
    )
    name = response.get_json()["files"][0]["name"]
    assert (uploads_dir / name).resolve().parent == uploads_dir.resolve()
    assert not name.startswith(".")


@pytest.mark.parametrize(
    ("headers", "status"), [({}, 401), ({"X-API-Key": "wrong"}, 403)], ids=["anonymous", "bad-key"]
)
def test_refused_uploads_store_nothing(
    client: FlaskClient, uploads_dir: Path, headers: dict[str, str], status: int
) -> None:
    response = client.post("/upload", headers={**headers, **JSON}, data=word_list("a.txt"))
    assert response.status_code == status
    assert stored_files(uploads_dir) == []


def test_signed_in_upload_without_csrf_is_400(client: FlaskClient, uploads_dir: Path) -> None:
    sign_in(client)
    assert client.post("/upload", data=word_list("a.txt")).status_code == 400
    assert stored_files(uploads_dir) == []


def test_upload_without_a_file_is_400(client: FlaskClient) -> None:
    response = client.post(
        "/upload", headers={"X-API-Key": API_KEY, **JSON}, data={"note": "no file"}
    )
    assert response.status_code == 400
    assert "wordlist-upload" in response.get_json()["message"]


def test_body_over_the_limit_is_413_and_nothing_written(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path, MAX_CONTENT_LENGTH=1024))
    response = app.test_client().post(
        "/upload", headers={"X-API-Key": API_KEY, **JSON}, data=word_list("big.txt", b"x" * 4096)
    )
    assert response.status_code == 413
    folder = tmp_path / "uploads"
    assert not folder.exists() or stored_files(folder) == []
