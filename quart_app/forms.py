"""Reading the site's own small forms without holding a large body in memory."""

from __future__ import annotations

from quart import current_app, request
from werkzeug.datastructures import MultiDict

from .backpressure import limit_body


async def read_form() -> MultiDict[str, str]:
    """The request's form; refused (413) beyond ``FORM_MAX_SIZE`` before it is read whole."""
    limit_body(request, current_app.config["FORM_MAX_SIZE"])
    return await request.form
