"""App-wide error handlers: HTML pages for browsers, JSON for API clients."""

from __future__ import annotations

from quart import Quart, Response, jsonify, render_template
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from .database import DatabaseUnavailableError
from .negotiation import wants_json

# When a client that got 503 for a database that did not answer should try again.
_DATABASE_RETRY_SECONDS = 5

_HEADERS_NOT_COPIED = {"content-type", "content-length"}


async def error_response(error: HTTPException) -> Response:
    """Render `error` as JSON or as the error page, keeping headers such as Allow."""
    status = error.code or 500
    message = error.description or ""
    if wants_json():
        response = jsonify({"status": status, "error": error.name, "message": message})
    else:
        html = await render_template("error.html", status=status, name=error.name, message=message)
        response = Response(html, mimetype="text/html")
    response.status_code = status
    for name, value in error.get_headers():
        if name.lower() not in _HEADERS_NOT_COPIED:
            response.headers[name] = value
    return response


def register_error_handlers(app: Quart) -> None:
    """Install the handlers for HTTP errors and for unexpected exceptions."""

    @app.errorhandler(HTTPException)
    async def handle_http_error(error: HTTPException) -> Response:
        return await error_response(error)

    @app.errorhandler(DatabaseUnavailableError)
    async def handle_database_unavailable(error: DatabaseUnavailableError) -> Response:
        app.logger.warning("The database did not answer: %r", error.__cause__ or error)
        unavailable = ServiceUnavailable(error.message, retry_after=_DATABASE_RETRY_SECONDS)
        return await error_response(unavailable)

    @app.errorhandler(Exception)
    async def handle_unexpected_error(error: Exception) -> Response:
        app.logger.exception("Unhandled error", exc_info=error)
        return await error_response(InternalServerError())
