"""The module-level app that a WSGI server serves: `gunicorn examples.flask_app.wsgi:app`."""

from __future__ import annotations

from . import create_app

app = create_app()
