from __future__ import annotations

import hashlib
import io
from pathlib import Path
from urllib.parse import quote

import pytest
from quart import Quart
from quart.datastructures import FileStorage
from quart.testing import QuartClient

from quart_app import create_app

from .support.app_settings import API_KEY, app_config
from .support.multipart_bodies import BOUNDARY, CONTENT_TYPE, Part, encode
from .support.sign_in import Client, csrf_token_from, sign_in
from .support.store_files import store_contents

FIELD = "wordlist-upload"
JSON = {"Accept": "application/json"}


def form_body(*parts: Part) -> tuple[bytes, dict[str, str]]:
    """A multipart body with its parts in the given order, as a browser sends a form."""
    return encode(list(parts)), {"Content-Type": CONTENT_TYPE}


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
    body, headers = form_body(
        Part("csrf_token", token.encode()), Part(FIELD, content, "words.txt")
    )
    response = await client.post("/upload", data=body, headers=headers)
    page = await response.get_data(as_text=True)
    assert response.status_code == 201
    assert hashlib.sha256(content).hexdigest() in page
    [stored] = [p for p in store_contents(uploads_dir) if p.read_bytes() == content]
    assert stored.name.startswith("words") and stored.name.endswith(".txt")
    assert stored.name in page


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
    assert store_contents(uploads_dir) == []


async def test_wrong_key_is_403(client: QuartClient, uploads_dir: Path) -> None:
    response = await client.post(
        "/upload", headers={"X-API-Key": "nope", **JSON}, files=word_list("a.txt")
    )
    assert response.status_code == 403
    assert store_contents(uploads_dir) == []


async def test_signed_in_upload_without_csrf_is_400(
    client: QuartClient, uploads_dir: Path
) -> None:
    await sign_in(client)
    response = await client.post("/upload", files=word_list("a.txt"))
    assert response.status_code == 400
    assert store_contents(uploads_dir) == []


async def test_signed_in_upload_with_the_token_after_the_file_is_refused_unwritten(
    client: QuartClient, uploads_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The form's token must come before the first file (the page sends it first)."""
    began: list[str] = []
    store = client.app.extensions["upload_store"]
    real_begin = store.begin

    async def recording_begin(name: str, *args: object, **kwargs: object) -> object:
        began.append(name)
        return await real_begin(name, *args, **kwargs)

    monkeypatch.setattr(store, "begin", recording_begin)
    await sign_in(client)
    token = await csrf_token_from(client, "/upload")
    body, headers = form_body(Part(FIELD, b"data", "late.txt"), Part("csrf_token", token.encode()))
    response = await client.post("/upload", data=body, headers={**headers, **JSON})
    assert response.status_code == 400
    assert began == [] and store_contents(uploads_dir) == []


async def test_upload_without_a_file_is_400(client: QuartClient, uploads_dir: Path) -> None:
    response = await client.post(
        "/upload", headers={"X-API-Key": API_KEY, **JSON}, form={"note": "no file here"}
    )
    assert response.status_code == 400
    assert "wordlist-upload" in (await response.get_json())["message"]
    assert store_contents(uploads_dir) == []


async def test_upload_with_empty_filename_is_400(client: QuartClient, uploads_dir: Path) -> None:
    response = await client.post(
        "/upload", headers={"X-API-Key": API_KEY, **JSON}, files=word_list("", b"data")
    )
    assert response.status_code == 400
    assert store_contents(uploads_dir) == []


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
    assert not folder.exists() or store_contents(folder) == []


async def test_upload_is_not_bound_by_max_content_length(tmp_path: Path) -> None:
    app: Quart = create_app(app_config(tmp_path, MAX_CONTENT_LENGTH=1024))
    async with app.test_app():
        response = await app.test_client().post(
            "/upload", headers={"X-API-Key": API_KEY}, files=word_list("big.txt", b"x" * 4096)
        )
    assert response.status_code == 201
    assert (await response.get_json())["files"][0]["size"] == 4096


async def test_reflected_original_name_is_escaped(client: QuartClient) -> None:
    await sign_in(client)
    token = await csrf_token_from(client, "/upload")
    body, headers = form_body(
        Part("csrf_token", token.encode()), Part(FIELD, b"x", "<script>x</script>.txt")
    )
    response = await client.post("/upload", data=body, headers=headers)
    page = await response.get_data(as_text=True)
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;.txt" in page


async def upload_by_key(client: Client, *files: tuple[str, bytes]) -> list[dict[str, object]]:
    """Upload `files` in one request with the API key; return the JSON entries."""
    response = await client.post(
        "/upload",
        headers={"X-API-Key": API_KEY},
        files={
            f"file-{i}": FileStorage(io.BytesIO(content), filename=name, name=f"file-{i}")
            for i, (name, content) in enumerate(files)
        },
    )
    assert response.status_code == 201
    entries: list[dict[str, object]] = (await response.get_json())["files"]
    assert response.headers["Location"] == entries[0]["url"]
    return entries


async def test_several_files_in_any_field_are_all_stored(
    client: QuartClient, uploads_dir: Path
) -> None:
    entries = await upload_by_key(client, ("a.txt", b"first"), ("b.csv", b"second"))
    assert [e["original_name"] for e in entries] == ["a.txt", "b.csv"]
    for entry, content in zip(entries, (b"first", b"second"), strict=True):
        assert entry["url"] == f"/uploads/{entry['name']}"
        assert entry["size"] == len(content)
        assert entry["content_type"] == "application/octet-stream"
        assert (uploads_dir / str(entry["name"])).read_bytes() == content


async def test_listing_is_paginated_json(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path, UPLOADS_PER_PAGE=2))
    async with app.test_app():
        client = app.test_client()
        for i in range(3):
            await upload_by_key(client, (f"{i}.txt", b"x" * (i + 1)))
        response = await client.get("/uploads?page=2", headers={"X-API-Key": API_KEY, **JSON})
        listing = await response.get_json()
    assert response.status_code == 200
    assert (listing["page"], listing["pages"], listing["total"]) == (2, 2, 3)
    [entry] = listing["files"]
    assert {"name", "original_name", "size", "sha256", "url", "content_type", "created"} <= set(
        entry
    )


async def test_listing_page_for_signed_in_user_has_delete_forms(
    client: QuartClient,
) -> None:
    [entry] = await upload_by_key(client, ("<b>x</b>.txt", b"x"))
    await sign_in(client)
    page = await (await client.get("/uploads")).get_data(as_text=True)
    assert str(entry["name"]) in page and "&lt;b&gt;x&lt;/b&gt;.txt" in page
    assert f"/uploads/{entry['name']}/delete" in page


async def test_download_is_an_attachment_with_nosniff(client: QuartClient) -> None:
    [entry] = await upload_by_key(client, ("page.html", b"<script>alert(1)</script>"))
    response = await client.get(str(entry["url"]), headers={"X-API-Key": API_KEY})
    assert response.status_code == 200
    assert await response.get_data() == b"<script>alert(1)</script>"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "page.html" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "Expires" not in response.headers


@pytest.mark.parametrize(
    ("original", "disposition"),
    [
        ("plain.txt", "attachment; filename=plain.txt"),
        (
            "ünï ß.txt",
            "attachment; filename=\"uni _.txt\"; filename*=UTF-8''%C3%BCn%C3%AF%20%C3%9F.txt",
        ),
        (
            "日本語.csv",
            "attachment; filename=___.csv; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.csv",
        ),
        ("../../etc/passwd", "attachment; filename=passwd"),
        ("\uff0e\uff0e\uff0fetc\uff0fpasswd", "attachment; filename=passwd"),
        ("a\\b.txt", "attachment; filename=b.txt"),
        ("invoice\u202efdp.exe", "attachment; filename=invoicefdp.exe"),
        (
            "résumé\u202e.pdf",
            "attachment; filename=resume.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
        ),
    ],
)
async def test_download_names_survive_any_original_name(
    client: QuartClient, original: str, disposition: str
) -> None:
    entry = await upload_with_raw_name(client, original)
    assert entry["original_name"] == original
    response = await client.get(str(entry["url"]), headers={"X-API-Key": API_KEY})
    assert response.headers["Content-Disposition"] == disposition
    response.headers["Content-Disposition"].encode("latin-1")


async def upload_with_raw_name(client: QuartClient, filename: str) -> dict[str, object]:
    """Upload one file called `filename`, quoted by hand: the test client loses backslashes.

    A name with control characters goes as RFC 8187 `filename*`: a raw control character
    in the header makes the part malformed (400), as no browser sends one.
    """
    boundary = "raw-name-boundary"
    if any(ord(char) < 0x20 for char in filename):
        parameter = f"filename*=UTF-8''{quote(filename, safe='')}"
    else:
        quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
        parameter = f'filename="{quoted}"'
    body = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{FIELD}"; {parameter}\r\n'
        "Content-Type: application/octet-stream\r\n\r\nx\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    response = await client.post(
        "/upload",
        data=body,
        headers={
            "X-API-Key": API_KEY,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert response.status_code == 201
    [entry] = (await response.get_json())["files"]
    return dict(entry)


@pytest.mark.parametrize("original", ["...", ". . ..", "\x01\x02\x1f", "\u202e\u200b\ufeff"])
async def test_download_name_falls_back_to_the_stored_name(
    client: QuartClient, original: str
) -> None:
    entry = await upload_with_raw_name(client, original)
    assert entry["original_name"] == original
    response = await client.get(str(entry["url"]), headers={"X-API-Key": API_KEY})
    assert response.headers["Content-Disposition"] == f"attachment; filename={entry['name']}"


async def test_uploads_need_the_same_authorisation(client: QuartClient) -> None:
    [entry] = await upload_by_key(client, ("a.txt", b"x"))
    for method, path in [
        ("GET", "/uploads"),
        ("GET", str(entry["url"])),
        ("DELETE", str(entry["url"])),
    ]:
        response = await client.open(path, method=method, headers=JSON)
        assert response.status_code == 401, (method, path)


@pytest.mark.parametrize("name", ["missing.txt", ".meta", "..%2F..%2Fetc%2Fpasswd"])
async def test_unknown_or_hidden_names_are_404(client: QuartClient, name: str) -> None:
    response = await client.get(f"/uploads/{name}", headers={"X-API-Key": API_KEY, **JSON})
    assert response.status_code == 404


@pytest.mark.parametrize("length", [251, 300, 5000])
@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("HEAD", ""), ("DELETE", ""), ("POST", "/delete")]
)
async def test_names_too_long_to_be_stored_are_404(
    client: QuartClient, length: int, method: str, suffix: str
) -> None:
    name = "a" * (length - 4) + ".txt"
    response = await client.open(
        f"/uploads/{name}{suffix}", method=method, headers={"X-API-Key": API_KEY, **JSON}
    )
    assert response.status_code == 404
    if method != "HEAD":
        assert (await response.get_json())["status"] == 404


async def test_delete_by_api_key_is_204(client: QuartClient, uploads_dir: Path) -> None:
    [entry] = await upload_by_key(client, ("a.txt", b"x"))
    response = await client.delete(str(entry["url"]), headers={"X-API-Key": API_KEY})
    assert response.status_code == 204
    assert not (uploads_dir / str(entry["name"])).exists()
    again = await client.delete(str(entry["url"]), headers={"X-API-Key": API_KEY, **JSON})
    assert again.status_code == 404


async def test_signed_in_delete_needs_the_csrf_token(
    client: QuartClient, uploads_dir: Path
) -> None:
    [entry] = await upload_by_key(client, ("a.txt", b"x"))
    await sign_in(client)
    refused = await client.delete(str(entry["url"]))
    assert refused.status_code == 400
    token = await csrf_token_from(client, "/upload")
    deleted = await client.delete(str(entry["url"]), headers={"X-CSRF-Token": token})
    assert deleted.status_code == 204
    assert not (uploads_dir / str(entry["name"])).exists()


async def test_delete_form_fallback_redirects_to_the_list(
    client: QuartClient, uploads_dir: Path
) -> None:
    [entry] = await upload_by_key(client, ("a.txt", b"x"))
    await sign_in(client)
    without_token = await client.post(f"/uploads/{entry['name']}/delete", form={})
    assert without_token.status_code == 400
    token = await csrf_token_from(client, "/upload")
    response = await client.post(f"/uploads/{entry['name']}/delete", form={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/uploads")
    assert not (uploads_dir / str(entry["name"])).exists()


async def test_xhr_upload_with_csrf_header_gets_json(client: QuartClient) -> None:
    await sign_in(client)
    token = await csrf_token_from(client, "/upload")
    response = await client.post(
        "/upload", headers={"X-CSRF-Token": token, **JSON}, files=word_list("x.txt", b"xhr")
    )
    assert response.status_code == 201
    assert (await response.get_json())["files"][0]["size"] == 3


async def test_disallowed_extension_is_415(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path, UPLOAD_ALLOWED_EXTENSIONS=["txt"]))
    async with app.test_app():
        client = app.test_client()
        response = await client.post(
            "/upload", headers={"X-API-Key": API_KEY, **JSON}, files=word_list("a.exe")
        )
    assert response.status_code == 415
    assert (await response.get_json())["error"] == "Unsupported Media Type"


async def test_api_key_clients_get_json_errors_without_asking(
    client: QuartClient, uploads_dir: Path
) -> None:
    response = await client.post(
        "/upload", headers={"X-API-Key": API_KEY}, form={"note": "no file here"}
    )
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert (await response.get_json())["status"] == 400


async def test_api_key_clients_asking_for_html_get_the_page(client: QuartClient) -> None:
    response = await client.post(
        "/upload",
        files=word_list("page.txt"),
        headers={"X-API-Key": API_KEY, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert response.status_code == 201
    assert response.mimetype == "text/html"


async def post_raw_body(client: QuartClient, body: bytes, content_type: str) -> dict[str, object]:
    """POST a hand-built multipart body with the API key; return the one stored file's entry."""
    response = await client.post(
        "/upload", data=body, headers={"X-API-Key": API_KEY, "Content-Type": content_type}
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    [entry] = (await response.get_json())["files"]
    assert isinstance(entry, dict)
    return entry


@pytest.mark.parametrize(
    "media_type", ["MULTIPART/FORM-DATA", "Multipart/Form-Data", "multipart/FORM-data"]
)
async def test_upload_media_type_is_case_insensitive(
    client: QuartClient, uploads_dir: Path, media_type: str
) -> None:
    body = encode([Part(FIELD, b"words\n", "a.txt", "text/plain")])
    entry = await post_raw_body(client, body, f"{media_type}; boundary={BOUNDARY}")
    assert (uploads_dir / str(entry["name"])).read_bytes() == b"words\n"


async def test_upload_with_preamble_padding_and_epilogue_is_stored(
    client: QuartClient, uploads_dir: Path
) -> None:
    body = encode(
        [Part("note", b"hi"), Part(FIELD, b"words\r\n", "a.txt", "text/plain")],
        preamble=b"This is a multipart message.",
        padding=b" \t ",
        epilogue=b"This is the epilogue.\r\n",
    )
    entry = await post_raw_body(client, body, f"multipart/form-data; boundary={BOUNDARY}")
    assert entry["content_type"] == "text/plain"
    assert (uploads_dir / str(entry["name"])).read_bytes() == b"words\r\n"


async def test_part_content_type_with_a_nul_is_stored_as_octet_stream_and_downloads(
    client: QuartClient,
) -> None:
    body = encode([Part(FIELD, b"data", "a.bin", "text/plain\x00; x=y")])
    entry = await post_raw_body(client, body, f"multipart/form-data; boundary={BOUNDARY}")
    assert entry["content_type"] == "application/octet-stream"
    response = await client.get(f"/uploads/{entry['name']}", headers={"X-API-Key": API_KEY})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert await response.get_data() == b"data"


async def test_the_list_shows_bidi_controls_in_names_instead_of_obeying_them(
    client: QuartClient,
) -> None:
    [entry] = await upload_by_key(client, ("invoice\u202etxt.exe", b"MZ"))
    page = await client.get("/uploads", headers={"X-API-Key": API_KEY, "Accept": "text/html"})
    listing = await page.get_data(as_text=True)
    assert "invoice[U+202E]txt.exe" in listing
    assert "\u202e" not in listing
    as_json = await client.get("/uploads", headers={"X-API-Key": API_KEY, **JSON})
    assert (await as_json.get_json())["files"][0]["original_name"] == entry["original_name"]
