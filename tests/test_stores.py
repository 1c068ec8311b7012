from __future__ import annotations

import pytest
from quart.testing import QuartClient

from quart_app.blueprints.stores import CITIES


@pytest.mark.parametrize("city", CITIES)
async def test_every_tutorial_city_is_located(client: QuartClient, city: str) -> None:
    response = await client.get(f"/stores/locations/{city}")
    assert response.status_code == 200
    assert f"Yes! We are located in {city.title()}" in await response.get_data(as_text=True)


@pytest.mark.parametrize("spelling", ["omaha", "Omaha", "oMaHa", "OMAHA"])
async def test_cities_match_case_insensitively(client: QuartClient, spelling: str) -> None:
    response = await client.get(f"/stores/locations/{spelling}")
    assert "Yes! We are located in Omaha" in await response.get_data(as_text=True)


async def test_unknown_city_is_404_with_no_sentence(client: QuartClient) -> None:
    response = await client.get("/stores/locations/Paris")
    assert response.status_code == 404
    assert "No. We are not located in Paris" in await response.get_data(as_text=True)


async def test_unknown_city_is_escaped(client: QuartClient) -> None:
    response = await client.get('/stores/locations/<b onmouseover="x">')
    body = await response.get_data(as_text=True)
    assert "<b onmouseover" not in body
    assert "No. We are not located in &lt;b onmouseover=&#34;x&#34;&gt;" in body


async def test_plain_text_clients_get_the_tutorial_sentence(client: QuartClient) -> None:
    response = await client.get("/stores/locations/lima", headers={"Accept": "text/plain"})
    assert response.mimetype == "text/plain"
    assert await response.get_data(as_text=True) == "Yes! We are located in Lima"


async def test_json_clients_get_json(client: QuartClient) -> None:
    response = await client.get("/stores/locations/rome", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert await response.get_json() == {
        "city": "rome",
        "located": False,
        "message": "No. We are not located in rome",
    }


async def test_city_form_redirects_to_the_city_page(client: QuartClient) -> None:
    response = await client.get("/stores/locations", query_string={"city": " Nepal "})
    assert response.status_code == 303
    assert response.headers["Location"] == "/stores/locations/Nepal"


async def test_stores_page_without_a_city_lists_every_store(client: QuartClient) -> None:
    response = await client.get("/stores/locations")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'action="/stores/locations"' in body
    for city in CITIES:
        assert f'href="/stores/locations/{city.lower()}"' in body
