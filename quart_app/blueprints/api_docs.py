"""The JSON API's description: /openapi.json for programs, /api/docs for people."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify, render_template

from ..openapi import DESCRIPTION

bp = Blueprint("api_docs", __name__)

_METHODS = ("get", "head", "options", "post", "put", "patch", "delete")


def _operations() -> list[dict[str, Any]]:
    """Each operation of the description with its method and path, in the description's order."""
    return [
        {
            **operation,
            "method": method.upper(),
            "path": path,
            "parameters": [*item.get("parameters", []), *operation.get("parameters", [])],
        }
        for path, item in DESCRIPTION["paths"].items()
        for method, operation in item.items()
        if method in _METHODS
    ]


@bp.get("/openapi.json")
async def openapi_json() -> Response:
    """The OpenAPI 3.1 description of the JSON API."""
    return jsonify(DESCRIPTION)


@bp.get("/api/docs")
async def page() -> str:
    """The same description as a page: each operation, its parameters and its answers."""
    return await render_template(
        "api-docs.html",
        info=DESCRIPTION["info"],
        operations=_operations(),
        schemas=DESCRIPTION["components"]["schemas"],
    )
