"""Error pages (this file was saved by an editor that writes a UTF-8 BOM)."""

from flask import render_template


def page_not_found(error):
    """A friendlier 404 page."""
    return render_template("error.html", message="No such page."), 404


def forbidden(error):
    """Someone else's post."""
    return render_template("error.html", message="That is not yours to change."), 403


def init_app(app):
    """Register the handlers."""
    app.register_error_handler(404, page_not_found)
    app.register_error_handler(403, forbidden)
