from __future__ import annotations

import pytest
from quart.testing import QuartClient

XSS = '<script>alert("x")</script>'
XSS_ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


async def test_index_greets_and_links_every_page(client: QuartClient) -> None:
    response = await client.get("/")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Hello World!" in body
    for path in (
        "/about",
        "/users/guido-van-rossum",
        "/stores/locations/",
        "/login",
        "/api/users/",
        "/upload",
        "/home",
    ):
        assert f'href="{path}' in body


async def test_about_links_its_stylesheet_and_script_through_url_for(
    client: QuartClient,
) -> None:
    body = await (await client.get("/about")).get_data(as_text=True)
    assert 'href="/static/styles/about-style.css"' in body
    assert 'src="/static/scripts/about-script.js"' in body
    for asset in ("/static/styles/about-style.css", "/static/scripts/about-script.js"):
        response = await client.get(asset)
        assert response.status_code == 200
        assert len(await response.get_data()) > 0


async def test_about_script_targets_elements_the_page_has(client: QuartClient) -> None:
    body = await (await client.get("/about")).get_data(as_text=True)
    script = await (await client.get("/static/scripts/about-script.js")).get_data(as_text=True)
    for element_id in ("about-more-toggle", "about-more"):
        assert f'id="{element_id}"' in body
        assert f'"{element_id}"' in script


async def test_home_reads_the_username_cookie(client: QuartClient) -> None:
    client.set_cookie("localhost", "username", "ada-lovelace")
    body = await (await client.get("/home")).get_data(as_text=True)
    assert "Your stored username is ada-lovelace" in body


async def test_home_without_cookie_says_none_was_found(client: QuartClient) -> None:
    response = await client.get("/home")
    assert response.status_code == 200
    assert "No username cookie was found" in await response.get_data(as_text=True)


async def test_home_escapes_the_cookie(client: QuartClient) -> None:
    client.set_cookie("localhost", "username", XSS)
    body = await (await client.get("/home")).get_data(as_text=True)
    assert XSS not in body
    assert XSS_ESCAPED in body


async def test_pages_carry_security_headers(client: QuartClient) -> None:
    response = await client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


async def test_unknown_page_is_a_templated_404(client: QuartClient) -> None:
    response = await client.get("/no/such/page")
    body = await response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<h1>404 Not Found</h1>" in body
    assert 'href="/static/styles/site.css"' in body


async def test_unknown_page_is_json_for_api_clients(client: QuartClient) -> None:
    response = await client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    payload = await response.get_json()
    assert payload["status"] == 404
    assert payload["error"] == "Not Found"


async def test_unknown_path_is_escaped_nowhere_reflected(client: QuartClient) -> None:
    response = await client.get(f"/{XSS}")
    assert XSS not in await response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/about", "/home"])
async def test_pages_refuse_post_with_allow_header(client: QuartClient, path: str) -> None:
    response = await client.post(path)
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "405 Method Not Allowed" in await response.get_data(as_text=True)


async def test_unexpected_error_is_a_templated_500_without_traceback(
    client: QuartClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quart_app.blueprints import pages

    async def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(pages, "render_template", broken)
    response = await client.get("/about")
    body = await response.get_data(as_text=True)
    assert response.status_code == 500
    assert "500 Internal Server Error" in body
    assert "secret internal detail" not in body
    assert "Traceback" not in body
