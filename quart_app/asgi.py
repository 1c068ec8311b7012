"""The module-level app that Hypercorn serves: `hypercorn quart_app.asgi:app`."""

from __future__ import annotations

import os

from . import create_app

app = create_app()

# Hypercorn's workers share one listening socket, and libuv (under the uvloop worker class)
# accepts every pending connection at once, so a burst of uploads lands on one worker while
# the other idles. Accepting one connection per loop iteration spreads them (see
# docs/performance.md). libuv reads this when the worker first listens, after this import.
os.environ.setdefault("UV_TCP_SINGLE_ACCEPT", "1")
