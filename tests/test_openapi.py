"""The OpenAPI description: valid, true to the routes, and true to what the app answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from quart import Quart
from quart.testing import QuartClient

from quart_app.openapi import DESCRIPTION

from .support.app_settings import API_KEY
from .support.multipart_bodies import Part, encode

JSON = {"Accept": "application/json"}
KEY = {"X-API-Key": API_KEY, **JSON}
_METHODS = {"get", "head", "options", "post", "put", "patch", "delete"}
# Routes for browsers only: pages, forms and the static files.
_FOR_BROWSERS = {
    "static",
    "pages.index",
    "pages.about",
    "pages.home",
    "users.guido",
    "users.profile",
    "stores.lookup",
    "auth.login_form",
    "auth.login",
    "auth.logout",
    "uploads.upload_form",
    "uploads.delete_upload_form",
    "api_docs.openapi_json",
    "api_docs.page",
}


def _operations() -> dict[str, tuple[str, str]]:
    """operationId: (method, path) for every documented operation."""
    return {
        operation["operationId"]: (method.upper(), path)
        for path, item in DESCRIPTION["paths"].items()
        for method, operation in item.items()
        if method in _METHODS
    }


def _conforms(payload: Any, operation_id: str, status: int) -> list[str]:
    """What in `payload` breaks the JSON schema documented for that operation and status."""
    [(method, path)] = [where for name, where in _operations().items() if name == operation_id]
    answer = DESCRIPTION["paths"][path][method.lower()]["responses"][str(status)]
    schema = answer["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": DESCRIPTION["components"]})
    return [error.message for error in validator.iter_errors(payload)]


def test_the_description_is_valid_openapi_3_1() -> None:
    validate(DESCRIPTION)
    assert DESCRIPTION["openapi"].startswith("3.1")


def test_every_documented_operation_is_a_route_of_the_app(app: Quart) -> None:
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    for operation_id, (method, path) in _operations().items():
        rule = rules[operation_id]
        assert re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule) == path, operation_id
        assert method in (rule.methods or set()), operation_id


def test_every_route_for_programs_is_documented(app: Quart) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - _FOR_BROWSERS == set(_operations())


async def test_the_served_description_is_this_one(client: QuartClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert await response.get_json() == DESCRIPTION


async def test_real_answers_match_their_documented_schemas(client: QuartClient) -> None:
    body = encode([Part("wordlist-upload", b"alpha\n", "words.txt", "text/plain")])
    boundary = re.search(rb"--([^\r]+)", body)
    assert boundary
    content_type = f"multipart/form-data; boundary={boundary.group(1).decode()}"
    uploaded = await client.post(
        "/upload", data=body, headers={**KEY, "Content-Type": content_type}
    )
    name = (await uploaded.get_json())["files"][0]["name"]
    answers = [
        ("uploads.upload_file", uploaded),
        (
            "uploads.upload_file",
            await client.post("/upload", headers=JSON),
        ),
        ("uploads.list_uploads", await client.get("/uploads", headers=KEY)),
        ("uploads.download", await client.get("/uploads/no-such-file.txt", headers=KEY)),
        ("uploads.delete_upload", await client.delete(f"/uploads/{name}x", headers=KEY)),
        ("api.user_api", await client.get("/api/users/ada-lovelace", headers=KEY)),
        ("api.user_api", await client.get("/api/users/nobody", headers=KEY)),
        ("api.user_api", await client.get("/api/users/ada-lovelace?key=wrong", headers=JSON)),
        ("stores.storefronts", await client.get("/stores/locations/cairo", headers=KEY)),
        ("stores.storefronts", await client.get("/stores/locations/paris", headers=KEY)),
        ("health.health", await client.get("/healthz")),
    ]
    statuses = [(operation_id, response.status_code) for operation_id, response in answers]
    assert statuses == [
        ("uploads.upload_file", 201),
        ("uploads.upload_file", 401),
        ("uploads.list_uploads", 200),
        ("uploads.download", 404),
        ("uploads.delete_upload", 404),
        ("api.user_api", 200),
        ("api.user_api", 404),
        ("api.user_api", 403),
        ("stores.storefronts", 200),
        ("stores.storefronts", 404),
        ("health.health", 200),
    ]
    for operation_id, response in answers:
        problems = _conforms(await response.get_json(), operation_id, response.status_code)
        assert problems == [], (operation_id, response.status_code)
    deleted = await client.delete(f"/uploads/{name}", headers=KEY)
    assert (
        str(deleted.status_code) in DESCRIPTION["paths"]["/uploads/{name}"]["delete"]["responses"]
    )


@pytest.mark.parametrize("schema", ["Uploaded", "UserJoined", "Health"])
def test_the_schemas_refuse_what_the_app_never_sends(schema: str) -> None:
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": DESCRIPTION["components"]}
    )
    assert not validator.is_valid({"unexpected": True})


async def test_the_docs_page_shows_every_operation_and_schema(client: QuartClient) -> None:
    response = await client.get("/api/docs")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    for method, path in _operations().values():
        assert f'<span class="badge">{method}</span> <code>{path}</code>' in page
    for schema in DESCRIPTION["components"]["schemas"]:
        assert f'id="schema-{schema}"' in page
    assert "<code>X-CSRF-Token</code>" in page, "backticked words are shown as code"
    assert 'href="/openapi.json"' in page
