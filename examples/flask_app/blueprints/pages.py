"""The tutorial's plain pages: home, about and the cookie page."""

from __future__ import annotations

from flask import Blueprint, render_template, request

bp = Blueprint("pages", __name__)

USERNAME_COOKIE = "username"


@bp.get("/")
def index() -> str:
    """Greet the world and link every page of the tutorial."""
    return render_template("index.html")


@bp.get("/about")
def about() -> str:
    """The about-us page with its own stylesheet and script."""
    return render_template("about-us.html")


@bp.get("/home")
def home() -> str:
    """Say which username the `username` cookie holds."""
    return render_template("home.html", username=request.cookies.get(USERNAME_COOKIE))
