"""Store locations: is there a store in a given city?"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from ..negotiation import preferred_representation

bp = Blueprint("stores", __name__, url_prefix="/stores")

CITIES = ("OMAHA", "MELBOURNE", "NEPAL", "STUTTGART", "LIMA", "CAIRO", "SHANGHAI")


def store_answer(city: str) -> tuple[bool, str]:
    """Return whether we have a store in `city` (any case) and the tutorial's sentence."""
    located = city.strip().upper() in CITIES
    name = city.strip().title() if located else city
    if located:
        return True, f"Yes! We are located in {name}"
    return False, f"No. We are not located in {name}"


@bp.get("/locations")
def lookup() -> WerkzeugResponse | str:
    """The city form's target: send `?city=` on to its page, or list the stores."""
    city = request.args.get("city", "").strip()
    if city:
        return redirect(url_for("stores.storefronts", city=city), code=303)
    return render_template("stores.html", city=None, sentence=None, cities=CITIES)


@bp.get("/locations/<city>")
def storefronts(city: str) -> Response | tuple[str, int, dict[str, str]] | tuple[str, int]:
    """Answer as a page, as JSON, or as the tutorial's plain sentence."""
    located, sentence = store_answer(city)
    status = 200 if located else 404
    kind = preferred_representation("html", "json", "text")
    if kind == "json":
        response = jsonify({"city": city, "located": located, "message": sentence})
        response.status_code = status
        return response
    if kind == "text":
        return sentence, status, {"Content-Type": "text/plain; charset=utf-8"}
    page = render_template(
        "stores.html", city=city, located=located, sentence=sentence, cities=CITIES
    )
    return page, status
