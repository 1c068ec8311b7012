"""taskboard: a JSON API for a team's task list, with file attachments."""

import os

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException


def create_app(config=None):
    """Build the app; `config` overrides the defaults (tests pass a temporary DATA_DIR)."""
    app = Flask(__name__)
    app.config.update(
        DATA_DIR=os.path.join(app.instance_path, "data"),
        API_TOKENS=[],
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,
    )
    app.config.update(config or {})
    os.makedirs(app.config["DATA_DIR"], exist_ok=True)

    from taskboard.api import api

    app.register_blueprint(api, url_prefix="/api")

    @app.errorhandler(HTTPException)
    def json_error(error):
        return jsonify(error=error.name, message=error.description), error.code

    return app
