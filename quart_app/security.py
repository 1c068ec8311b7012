"""CSRF tokens, API keys, the signed-in user and the response security headers."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from quart import Quart, Response, current_app, g, request, session
from quart.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.exceptions import BadRequest

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
API_KEY_HEADER = "X-API-Key"
_CSRF_SESSION_KEY = "_csrf"
_USER_SESSION_KEY = "user"
_GENERATION_SESSION_KEY = "generation"

# Every response carries these, the server's own error answers included (hypercorn_adapters.py).
SECURITY_HEADERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        ),
    }
)


class CSRFError(BadRequest):
    """A state-changing form arrived without the session's CSRF token."""

    description = "The form has expired or did not come from this site. Reload it and try again."


def served_over_tls() -> bool:
    """True when the current request reached us over HTTPS."""
    return request.scheme == "https"


class ReadTrackingSession(SecureCookieSession):
    """The cookie session, marked accessed whenever it is read.

    Flask marks the session accessed in its request context, which Quart's lacks; without the
    mark a page that depends on the session goes out without `Vary: Cookie`, and a shared cache
    could hand one user's page to another.
    """

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)


class TLSAwareSessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure whenever the request itself came over TLS."""

    session_class = ReadTrackingSession

    def get_cookie_secure(self, app: Quart) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or served_over_tls()


def csrf_token() -> str:
    """Return the session's CSRF token, creating it on first use."""
    token = session.get(_CSRF_SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_CSRF_SESSION_KEY] = token
    return token


def check_csrf(submitted: str | None) -> None:
    """Raise CSRFError unless `submitted` (or the X-CSRF-Token header) matches the session."""
    expected = session.get(_CSRF_SESSION_KEY)
    candidate = submitted or request.headers.get(CSRF_HEADER)
    if not (
        isinstance(expected, str)
        and candidate
        and secrets.compare_digest(expected.encode(), candidate.encode())
    ):
        raise CSRFError()


def presented_api_key() -> str | None:
    """Return the API key from the X-API-Key header or the `key` query argument."""
    return request.headers.get(API_KEY_HEADER) or request.args.get("key")


def api_key_is_valid(presented: str) -> bool:
    """Compare a presented key with the configured one in constant time."""
    expected: str = current_app.config["API_KEY"]
    return secrets.compare_digest(presented.encode(), expected.encode())


def signed_in_user() -> str | None:
    """The signed-in user's name, if any, as checked by ``access.load_signed_in_user``."""
    user = g.get("user")
    return user if isinstance(user, str) else None


def session_claim() -> tuple[str, object] | None:
    """The user the session cookie names and the session generation it carries, unchecked."""
    user = session.get(_USER_SESSION_KEY)
    return (user, session.get(_GENERATION_SESSION_KEY)) if isinstance(user, str) else None


def start_session(username: str, generation: int) -> None:
    """Sign `username` in with a fresh session (and a fresh CSRF token)."""
    session.clear()
    session[_USER_SESSION_KEY] = username
    session[_GENERATION_SESSION_KEY] = generation
    csrf_token()


def end_session() -> None:
    """Sign the current user out."""
    session.clear()


async def set_security_headers(response: Response) -> Response:
    """Add the headers every response carries (async: Quart runs a sync hook in a thread)."""
    headers = response.headers
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if served_over_tls():
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
