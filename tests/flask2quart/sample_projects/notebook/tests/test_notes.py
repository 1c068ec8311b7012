from __future__ import annotations

import io
import json

import pytest
from notebook.db import get_db


def test_index(client, auth):
    response = client.get("/")
    assert b"Log In" in response.data
    assert b"Register" in response.data

    auth.login()
    response = client.get("/")
    assert b"Log Out" in response.data
    assert b"test title" in response.data
    assert b"by test" in response.data
    assert b"test\nbody" in response.data
    assert b'href="/1/update"' in response.data
    assert b"test (1 notes)" in response.data


def test_search_filters_by_title(client):
    assert b"test title" not in client.get("/?q=nothing").data
    assert b"test title" in client.get("/", query_string={"q": "title"}).data


@pytest.mark.parametrize("path", ["/create", "/1/update", "/1/delete"])
def test_login_required(client, path):
    response = client.post(path)
    assert response.headers["Location"] == "/auth/login"


def test_export_requires_login(client):
    assert client.get("/export.csv").headers["Location"] == "/auth/login"


def test_author_required(app, client, auth):
    with app.app_context():
        db = get_db()
        db.execute("UPDATE note SET author_id = 2 WHERE id = 1")
        db.commit()

    auth.login()
    assert client.post("/1/update").status_code == 403
    assert client.post("/1/delete").status_code == 403
    assert b'href="/1/update"' not in client.get("/").data


@pytest.mark.parametrize("path", ["/2/update", "/2/delete"])
def test_exists_required(client, auth, path):
    auth.login()
    assert client.post(path).status_code == 404


def test_create(client, auth, app):
    auth.login()
    assert client.get("/create").status_code == 200
    response = client.post(
        "/create", data={"title": "created", "body": "text"}, follow_redirects=True
    )
    assert b"Note created." in response.data

    with app.app_context():
        count = get_db().execute("SELECT COUNT(id) FROM note").fetchone()[0]
        assert count == 2


def test_create_reports_every_error(client, auth):
    auth.login()
    response = client.post("/create", data={"title": "", "body": ""})
    text = response.get_data(as_text=True)
    assert "Title is required." in text
    assert "Body is required." in text


def test_update(client, auth, app):
    auth.login()
    assert client.get("/1/update").status_code == 200
    client.post("/1/update", data={"title": "updated", "body": "again"})

    with app.app_context():
        note = get_db().execute("SELECT * FROM note WHERE id = 1").fetchone()
        assert note["title"] == "updated"


def test_delete(client, auth, app):
    auth.login()
    response = client.post("/1/delete")
    assert response.headers["Location"] == "/"

    with app.app_context():
        note = get_db().execute("SELECT * FROM note WHERE id = 1").fetchone()
        assert note is None


def test_attachment_round_trip(client, auth):
    auth.login()
    response = client.post(
        "/1/attachments",
        data={"attachment": (io.BytesIO(b"hello attachment"), "hello.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302

    download = client.get("/1/attachments/hello.txt")
    assert download.status_code == 200
    assert download.data == b"hello attachment"


def test_attach_without_file_flashes(client, auth):
    auth.login()
    response = client.post("/1/attachments", data={}, follow_redirects=True)
    assert "Choose a file to attach." in response.text


def test_export_csv(client, auth):
    auth.login()
    response = client.get("/export.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.get_data(as_text=True).splitlines()[0] == "id,title,body"


def test_api_lists_notes(client):
    response = client.get("/api/notes")
    assert response.get_json() == [
        {"id": 1, "title": "test title", "body": "test\nbody", "author_id": 1}
    ]


def test_api_creates_note(client, auth):
    auth.login()
    response = client.post("/api/notes", json={"title": "from api", "body": "json"})
    assert response.status_code == 201
    assert response.json["title"] == "from api"


def test_api_rejects_invalid_note(client, auth):
    auth.login()
    response = client.post(
        "/api/notes",
        data=json.dumps({"title": "", "body": ""}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == ["Title is required.", "Body is required."]
