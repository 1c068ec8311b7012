"""The module-level app that Hypercorn serves: `hypercorn quart_app.asgi:app`."""

from __future__ import annotations

from . import create_app

app = create_app()
