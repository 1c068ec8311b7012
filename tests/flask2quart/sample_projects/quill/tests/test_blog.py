import json

import pytest
from flask import template_rendered
from quill.db import get_db


def test_index_lists_posts_with_their_authors(app, client):
    def check(sender, template, context, **extra):
        assert template.name == "blog/index.html"
        assert [post["title"] for post in context["posts"]] == ["Hello from Ada"]
        assert context["posts"][0]["username"] == "ada"

    with template_rendered.connected_to(check, app):
        response = client.get("/")

    assert response.status_code == 200
    assert b"Log in" in response.data


def test_index_offers_editing_to_the_author(client, login):
    login()
    page = client.get("/").get_data(as_text=True)

    assert 'href="/1/update"' in page
    assert "Export" in page


@pytest.mark.parametrize("path", ["/create", "/1/update", "/1/delete", "/export.json"])
def test_writing_needs_a_login(client, path):
    response = client.post(path) if path != "/export.json" else client.get(path)

    assert response.headers["Location"] == f"/auth/login?next={path}"


def test_only_the_author_may_change_a_post(client, login):
    login("grace")

    assert client.post("/1/update", data={"title": "mine", "body": ""}).status_code == 403
    assert client.post("/1/delete").status_code == 403
    assert "That is not yours to change." in client.get("/1/update").text


def test_missing_post_is_404(client, login):
    login()

    assert client.post("/7/delete").status_code == 404


def test_create_update_delete(client, login, app):
    login()
    assert client.get("/create").status_code == 200

    client.post("/create", data={"title": "Second", "body": "More."})
    client.post("/2/update", data={"title": "Second, edited", "body": "More."})
    with app.app_context():
        titles = [row[0] for row in get_db().execute("SELECT title FROM post ORDER BY id")]
    assert titles == ["Hello from Ada", "Second, edited"]

    client.post("/2/delete")
    with app.app_context():
        assert get_db().execute("SELECT COUNT(*) FROM post").fetchone()[0] == 1


def test_create_requires_a_title(client, login):
    login()

    response = client.post("/create", data={"title": " ", "body": "x"})

    assert "A title is required." in response.get_data(as_text=True)


def test_export_downloads_the_authors_posts(client, login):
    login()

    response = client.get("/export.json")

    assert response.headers["Content-Disposition"] == "attachment; filename=ada-posts.json"
    assert response.mimetype == "application/json"
    assert [post["title"] for post in json.loads(response.data)] == ["Hello from Ada"]
