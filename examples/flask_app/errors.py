"""App-wide error handlers: HTML pages for browsers, JSON for API clients."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template
from werkzeug.exceptions import HTTPException, InternalServerError

from .negotiation import wants_json

_HEADERS_NOT_COPIED = {"content-type", "content-length"}


def error_response(error: HTTPException) -> Response:
    """Render `error` as JSON or as the error page, keeping headers such as Allow."""
    status = error.code or 500
    message = error.description or ""
    if wants_json():
        response = jsonify({"status": status, "error": error.name, "message": message})
    else:
        html = render_template("error.html", status=status, name=error.name, message=message)
        response = Response(html, mimetype="text/html")
    response.status_code = status
    for name, value in error.get_headers():
        if name.lower() not in _HEADERS_NOT_COPIED:
            response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the handlers for HTTP errors and for unexpected exceptions."""

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Response:
        return error_response(error)

    @app.errorhandler(Exception)
    def handle_unexpected_error(error: Exception) -> Response:
        app.logger.exception("Unhandled error", exc_info=error)
        return error_response(InternalServerError())
