from __future__ import annotations

import pytest
from flask.testing import FlaskClient

XSS = "<script>alert(1)</script>"


def test_index_links_every_page(client: FlaskClient) -> None:
    body = client.get("/").get_data(as_text=True)
    assert "Hello World!" in body
    for path in ("/about", "/users/guido-van-rossum", "/login", "/upload", "/home"):
        assert f'href="{path}' in body


def test_about_links_its_stylesheet_and_script(client: FlaskClient) -> None:
    body = client.get("/about").get_data(as_text=True)
    assert 'href="/static/styles/about-style.css"' in body
    # Static files are streamed from disk: close the response, or the file stays open.
    with client.get("/static/scripts/about-script.js") as script:
        assert script.status_code == 200


def test_home_reads_the_username_cookie(client: FlaskClient) -> None:
    client.set_cookie("username", "ada-lovelace")
    assert "Your stored username is ada-lovelace" in client.get("/home").get_data(as_text=True)


def test_home_escapes_the_cookie(client: FlaskClient) -> None:
    client.set_cookie("username", XSS)
    body = client.get("/home").get_data(as_text=True)
    assert XSS not in body
    assert "&lt;script&gt;" in body


def test_pages_carry_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_unknown_page_is_a_templated_404_or_json(client: FlaskClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert "<h1>404 Not Found</h1>" in page.get_data(as_text=True)
    api = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert api.get_json()["error"] == "Not Found"


@pytest.mark.parametrize("path", ["/", "/about", "/home"])
def test_pages_refuse_post_with_allow_header(client: FlaskClient, path: str) -> None:
    response = client.post(path)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_unexpected_error_is_a_500_without_detail(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ..blueprints import pages

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(pages, "render_template", broken)
    response = client.get("/about")
    assert response.status_code == 500
    assert "secret internal detail" not in response.get_data(as_text=True)
