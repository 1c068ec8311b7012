"""Profiles: the tutorial's static route for Guido and the parameter route for everyone."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..db import get_user_store

bp = Blueprint("users", __name__, url_prefix="/users")

GUIDO = "guido-van-rossum"


def _render_profile(username: str, *, featured: bool = False) -> tuple[str, int]:
    user = get_user_store().get(username)
    if user is None:
        return render_template("profile.html", username=None, requested=username), 404
    return render_template(
        "profile.html",
        username=user.username,
        date=user.joined_on.isoformat(),
        awards=user.awards,
        featured=featured,
    ), 200


@bp.get(f"/{GUIDO}")
def guido() -> tuple[str, int]:
    """The tutorial's static route; Werkzeug ranks it above `/users/<username>`."""
    return _render_profile(GUIDO, featured=True)


@bp.get("/<username>")
def profile(username: str) -> tuple[str, int]:
    """A member's profile: join date and awards, or "No user was found" with 404."""
    return _render_profile(username)
