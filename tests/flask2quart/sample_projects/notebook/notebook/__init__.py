"""The notebook application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the notebook app."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "notebook.sqlite"),
        UPLOAD_FOLDER=os.path.join(app.instance_path, "attachments"),
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)

    os.makedirs(app.instance_path, exist_ok=True)
    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)

    @app.route("/ping")
    def ping():
        return "pong"

    @app.after_request
    def add_headers(response):
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.errorhandler(404)
    def page_not_found(error):
        return render_error("Page not found"), 404

    from notebook import db

    db.init_app(app)

    from notebook import auth, notes

    app.register_blueprint(auth.bp)
    app.register_blueprint(notes.bp)
    app.add_url_rule("/", endpoint="index")
    return app


def render_error(message: str) -> str:
    """Render the error page with a message."""
    from flask import render_template

    return render_template("error.html", message=message)
