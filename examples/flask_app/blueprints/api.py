"""The tutorial's user API: /api/users/<username>?key=..."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from ..db import get_user_store
from ..negotiation import preferred_representation
from ..security import api_key_is_valid, presented_api_key

bp = Blueprint("api", __name__, url_prefix="/api")

_REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}


def _answer(status: int, message: str, **fields: str) -> Response:
    kind = preferred_representation("text", "json", "html")
    if kind == "json":
        body: dict[str, object] = {**fields, "message": message}
        if status >= 400:
            body = {"status": status, "error": _REASONS[status], "message": message}
        response = jsonify(body)
    elif kind == "html":
        page = render_template("api-user.html", status=status, message=message)
        response = Response(page, mimetype="text/html")
    else:
        response = Response(message, mimetype="text/plain")
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    return response


@bp.get("/users/<username>")
def user_api(username: str) -> Response:
    """Tell when a user joined, for clients holding the API key."""
    key = presented_api_key()
    if not key:
        return _answer(401, "No key provided")
    if not api_key_is_valid(key):
        return _answer(403, "Incorrect key")
    user = get_user_store().get(username)
    if user is None:
        return _answer(404, "User not found")
    joined = user.joined_on.isoformat()
    return _answer(
        200, f"User {user.username} joined on {joined}", username=user.username, joined_on=joined
    )
