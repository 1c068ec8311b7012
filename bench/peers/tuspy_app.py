"""tuspyserver's FastAPI router, mounted as its README's "Basic setup" does, as a benchmark peer.

API clients are authorised by the same X-API-Key header as quart_app's, through the router's
``auth`` dependency. The store is the router's own: each upload's bytes in ``<id>`` and its
state in ``<id>.info`` beside them.

Serve with: uvicorn --workers 2 bench.peers.tuspy_app:app (BENCH_UPLOAD_DIR sets the folder,
BENCH_API_KEY the key).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from typing import Annotated, cast

from fastapi import FastAPI, Header, HTTPException
from tuspyserver import create_tus_router  # type: ignore[import-not-found, unused-ignore]

UPLOAD_DIR = os.environ.get("BENCH_UPLOAD_DIR", "bench-uploads")
API_KEY = os.environ.get("BENCH_API_KEY", "")


async def api_key(x_api_key: Annotated[str, Header()] = "") -> None:
    """Let through the requests that carry the key."""
    if not secrets.compare_digest(x_api_key.encode(), API_KEY.encode()):
        raise HTTPException(status_code=401, detail="Unauthorized")


app = FastAPI()
# The router hands ``auth`` to FastAPI's Depends, which fills in its parameters; its annotation
# says it takes none.
auth = cast(Callable[[], None], api_key)
app.include_router(create_tus_router(prefix="files", files_dir=UPLOAD_DIR, auth=auth))
