# -*- coding: latin-1 -*-
"""Pages that are not posts: the about page, kept in German by its translator."""

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)

ABOUT = "Über Quill: ein kleines Blog für Gäste und Autorinnen, grüße aus Zürich."


@bp.route("/about")
def about():
    """Who writes here, and why."""
    return render_template("pages/about.html", text=ABOUT)
