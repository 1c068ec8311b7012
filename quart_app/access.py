"""Who is calling: the signed-in user (checked against the database on every request) and
``caller_required``, the guard of the routes open to API-key clients and signed-in users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Final, ParamSpec, TypeVar

from quart import g, request
from werkzeug.exceptions import Forbidden, Unauthorized

from .db import get_user_store
from .forms import read_form
from .security import (
    CSRF_FIELD,
    CSRF_HEADER,
    api_key_is_valid,
    check_csrf,
    end_session,
    presented_api_key,
    session_claim,
    signed_in_user,
)
from .upload_engine import FieldsCheck

P = ParamSpec("P")
R = TypeVar("R")

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who makes the request: an API-key client (no username) or a signed-in user."""

    username: str | None

    @property
    def by_api_key(self) -> bool:
        """Whether the caller presented the API key."""
        return self.username is None


async def load_signed_in_user() -> None:
    """Before every request: believe the session's user only while its generation is current.

    Signing out moves the user's generation on, so a session cookie copied before it no
    longer signs anyone in.
    """
    g.user = None
    # Static files say nothing about the user: reading the session would make them vary by it.
    if request.endpoint == "static" or (claim := session_claim()) is None:
        return
    username, generation = claim
    if await get_user_store().session_generation(username) == generation:
        g.user = username
    else:
        end_session()


def caller_required(
    *, csrf_in_stream: bool = False, csrf_in_header: bool = False
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Let only API-key clients and signed-in users reach the view, recorded as ``g.caller``.

    No credentials: 401; a wrong key: 403. A signed-in user's writes (any method but GET,
    HEAD and OPTIONS) must carry the session's CSRF token, in the ``X-CSRF-Token`` header
    or in the form. With ``csrf_in_stream`` a multipart form is left unread for the view to
    stream: it hands ``stream_csrf_check()`` to the upload engine, which runs it on the
    fields sent before the first file part. With ``csrf_in_header`` the token must come in
    the header (the body is not a form and is never read for it).
    """

    def decorate(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(view)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            caller = _identify()
            g.caller = caller
            if not caller.by_api_key and request.method not in SAFE_METHODS:
                if csrf_in_header:
                    check_csrf(None)
                else:
                    await _check_write_is_from_this_site(csrf_in_stream=csrf_in_stream)
            return await view(*args, **kwargs)

        return guarded

    return decorate


def stream_csrf_check() -> FieldsCheck | None:
    """The CSRF check a ``csrf_in_stream`` view hands to the engine (None: already settled)."""
    if not g.get("csrf_in_stream", False):
        return None

    def check_form_token(fields: Mapping[str, list[str]]) -> None:
        check_csrf(next(iter(fields.get(CSRF_FIELD, [])), None))

    return check_form_token


def _identify() -> Caller:
    key = presented_api_key()
    if key:
        if not api_key_is_valid(key):
            raise Forbidden("Incorrect API key.")
        return Caller(None)
    username = signed_in_user()
    if username is None:
        raise Unauthorized("Sign in or present the API key to upload files.")
    return Caller(username)


async def _check_write_is_from_this_site(*, csrf_in_stream: bool) -> None:
    if request.headers.get(CSRF_HEADER):
        check_csrf(None)
    elif csrf_in_stream and request.mimetype == "multipart/form-data":
        g.csrf_in_stream = True
    else:
        check_csrf((await read_form()).get(CSRF_FIELD))
