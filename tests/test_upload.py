from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from quart import Quart
from quart.datastructures import FileStorage
from quart.testing import QuartClient

from quart_app import create_app

from .conftest import API_KEY, app_config, csrf_token_from, sign_in

FIELD = "wordlist-upload"
JSON = {"Accept": "application/json"}


ENGINE_BOOKKEEPING = {".lock", ".usage"}


def stored_files(folder: Path) -> list[Path]:
    """Every file under the uploads folder, hidden ones included, but the store's ledger."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in ENGINE_BOOKKEEPING)


def word_list(name: str, content: bytes = b"alpha\nbeta\ngamma\n") -> dict[str, FileStorage]:
    return {FIELD: FileStorage(io.BytesIO(content), filename=name, name=FIELD)}


async def test_upload_form_is_served(client: QuartClient) -> None:
    await sign_in(client)
    body = await (await client.get("/upload")).get_data(as_text=True)
    assert f'name="{FIELD}"' in body
    assert 'enctype="multipart/form-data"' in body


async def test_signed_in_user_uploads_through_the_form(
    client: QuartClient, uploads_dir: Path
) -> None:
    await sign_in(client)
    token = await csrf_token_from(client, "/upload")
    content = b"hello\nworld\n"
    response = await client.post(
        "/upload", form={"csrf_token": token}, files=word_list("words.txt", content)
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 201
    assert hashlib.sha256(content).hexdigest() in body
    [stored] = [p for p in stored_files(uploads_dir) if p.read_bytes() == content]
    assert stored.name.startswith("words") and stored.name.endswith(".txt")
    assert stored.name in body


async def test_api_key_client_gets_json_with_digest(
    client: QuartClient, uploads_dir: Path
) -> None:
    content = bytes(range(256)) * 100
    response = await client.post(
        "/upload", headers={"X-API-Key": API_KEY}, files=word_list("bin.dat", content)
    )
    assert response.status_code == 201
    [entry] = (await response.get_json())["files"]
    assert entry["original_name"] == "bin.dat"
    assert entry["size"] == len(content)
    assert entry["sha256"] == hashlib.sha256(content).hexdigest()
    assert (uploads_dir / entry["name"]).read_bytes() == content


async def test_same_name_twice_never_overwrites(client: QuartClient, uploads_dir: Path) -> None:
    names = []
    for content in (b"first", b"second"):
        response = await client.post(
            "/upload", headers={"X-API-Key": API_KEY}, files=word_list("same.txt", content)
        )
        names.append((await response.get_json())["files"][0]["name"])
    assert names[0] != names[1]
    assert (uploads_dir / names[0]).read_bytes() == b"first"
    assert (uploads_dir / names[1]).read_bytes() == b"second"


@pytest.mark.parametrize(
    "hostile",
    [
        "../../etc/passwd",
        "..\\..\\boot.ini",
        "/etc/passwd",
        "/tmp/evil.sh",
        "C:\\Windows\\evil.txt",
        "....//....//x",
        ".",
        "..",
        ".htaccess",
    ],
)
async def test_hostile_names_stay_inside_uploads(
    client: QuartClient, uploads_dir: Path, tmp_path: Path, hostile: str
) -> None:
    response = await client.post(
        "/upload", headers={"X-API-Key": API_KEY}, files=word_list(hostile, b"payload")
    )
    assert response.status_code == 201
    name = (await response.get_json())["files"][0]["name"]
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert (uploads_dir / name).resolve().parent == uploads_dir.resolve()
    outside = [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and uploads_dir not in p.parents and p.read_bytes() == b"payload"
    ]
    assert outside == []


async def test_without_sign_in_or_key_is_401_and_nothing_stored(
    client: QuartClient, uploads_dir: Path
) -> None:
    response = await client.post("/upload", headers=JSON, files=word_list("a.txt"))
    assert response.status_code == 401
    assert (await response.get_json())["status"] == 401
    assert stored_files(uploads_dir) == []


async def test_wrong_key_is_403(client: QuartClient, uploads_dir: Path) -> None:
    response = await client.post(
        "/upload", headers={"X-API-Key": "nope", **JSON}, files=word_list("a.txt")
    )
    assert response.status_code == 403
    assert stored_files(uploads_dir) == []


async def test_signed_in_upload_without_csrf_is_400(
    client: QuartClient, uploads_dir: Path
) -> None:
    await sign_in(client)
    response = await client.post("/upload", files=word_list("a.txt"))
    assert response.status_code == 400
    assert stored_files(uploads_dir) == []


async def test_upload_without_a_file_is_400(client: QuartClient, uploads_dir: Path) -> None:
    response = await client.post(
        "/upload", headers={"X-API-Key": API_KEY, **JSON}, form={"note": "no file here"}
    )
    assert response.status_code == 400
    assert "wordlist-upload" in (await response.get_json())["message"]
    assert stored_files(uploads_dir) == []


async def test_upload_with_empty_filename_is_400(client: QuartClient, uploads_dir: Path) -> None:
    response = await client.post(
        "/upload", headers={"X-API-Key": API_KEY, **JSON}, files=word_list("", b"data")
    )
    assert response.status_code == 400
    assert stored_files(uploads_dir) == []


async def test_body_over_the_limit_is_413_and_nothing_written(tmp_path: Path) -> None:
    app: Quart = create_app(app_config(tmp_path, UPLOAD_MAX_REQUEST_SIZE=1024))
    async with app.test_app():
        client = app.test_client()
        response = await client.post(
            "/upload",
            headers={"X-API-Key": API_KEY, **JSON},
            files=word_list("big.txt", b"x" * 4096),
        )
    assert response.status_code == 413
    folder = tmp_path / "uploads"
    assert not folder.exists() or stored_files(folder) == []


async def test_reflected_original_name_is_escaped(client: QuartClient) -> None:
    await sign_in(client)
    token = await csrf_token_from(client, "/upload")
    response = await client.post(
        "/upload", form={"csrf_token": token}, files=word_list("<script>x</script>.txt")
    )
    body = await response.get_data(as_text=True)
    assert "<script>x</script>" not in body
    assert "&lt;script&gt;x&lt;/script&gt;.txt" in body
