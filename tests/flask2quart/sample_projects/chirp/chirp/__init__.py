"""chirp: a tiny microblog."""

import os

from flask import Flask

from chirp import db
from chirp.helpers import format_datetime, gravatar_url


def create_app(settings=None):
    """Create the app; `settings` override the defaults and the CHIRP_SETTINGS file."""
    app = Flask(__name__)
    app.config.update(
        DATABASE=os.path.join(app.instance_path, "chirp.db"),
        PER_PAGE=30,
        SECRET_KEY="development key",
    )
    app.config.from_envvar("CHIRP_SETTINGS", silent=True)
    if settings:
        app.config.update(settings)

    db.init_app(app)
    app.jinja_env.filters["datetimeformat"] = format_datetime
    app.add_template_global(gravatar_url)

    from chirp import auth, timeline

    app.register_blueprint(auth.bp)
    app.register_blueprint(timeline.bp)
    return app
