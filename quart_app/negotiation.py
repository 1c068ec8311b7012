"""Content negotiation: which representation a client asked for."""

from __future__ import annotations

from typing import Literal

from quart import request

Representation = Literal["html", "json", "text"]

_MIMETYPES: dict[str, Representation] = {
    "text/html": "html",
    "application/json": "json",
    "text/plain": "text",
}


def preferred_representation(*offers: Representation) -> Representation:
    """Return the client's best match among `offers`; the first offer wins ties and `*/*`."""
    by_mimetype = [mimetype for mimetype, kind in _MIMETYPES.items() if kind in offers]
    by_mimetype.sort(key=lambda mimetype: offers.index(_MIMETYPES[mimetype]))
    best = request.accept_mimetypes.best_match(by_mimetype, default=by_mimetype[0])
    return _MIMETYPES[best] if best else offers[0]


def asks_for_html() -> bool:
    """True when the client names HTML in Accept (browsers do; curl and most libraries don't)."""
    return any(
        mimetype in ("text/html", "application/xhtml+xml") and quality > 0
        for mimetype, quality in request.accept_mimetypes
    )


def wants_json() -> bool:
    """True for clients preferring JSON to HTML, and for API-key clients not asking for HTML."""
    if preferred_representation("html", "json") == "json":
        return True
    presents_api_key = bool(request.headers.get("X-API-Key") or request.args.get("key"))
    return presents_api_key and not asks_for_html()
