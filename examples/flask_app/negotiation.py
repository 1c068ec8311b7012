"""Content negotiation: which representation a client asked for."""

from __future__ import annotations

from typing import Literal

from flask import request

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


def wants_json() -> bool:
    """True when the client prefers JSON to HTML (API clients, XHR with Accept: JSON)."""
    return preferred_representation("html", "json") == "json"
