"""Reading the site's own small forms without holding a large body in memory."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.datastructures import ImmutableMultiDict


def read_form() -> ImmutableMultiDict[str, str]:
    """The request's form; refused (413) beyond ``FORM_MAX_SIZE`` before it is read whole."""
    limit: int = current_app.config["FORM_MAX_SIZE"]
    # Flask 3.1 lets a view lower the app-wide MAX_CONTENT_LENGTH for its own request.
    if request.max_content_length is None or request.max_content_length > limit:
        request.max_content_length = limit
    return request.form
