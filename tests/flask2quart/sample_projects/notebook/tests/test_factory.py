from __future__ import annotations

from notebook import create_app


def test_config():
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


def test_ping(client):
    response = client.get("/ping")
    assert response.data == b"pong"


def test_security_header_on_every_response(client):
    assert client.get("/ping").headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_page_renders_error_template(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
