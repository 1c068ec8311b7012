"""Signing in and out: the tutorial's /login with hashed passwords and a signed session."""

from __future__ import annotations

import math
import time

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as WerkzeugResponse

from ..db import get_user_store
from ..forms import read_form
from ..security import (
    CSRF_FIELD,
    check_csrf,
    end_session,
    served_over_tls,
    signed_in_user,
    start_session,
)
from ..sign_in_throttle import SignInLimits, account_key, address_key, seconds_to_wait
from ..users_store import UserStore
from .pages import USERNAME_COOKIE

bp = Blueprint("auth", __name__)

_MAX_FIELD_LENGTH = 200


def _login_form(
    *, error: str | None, username: str, status: int, headers: dict[str, str] | None = None
) -> tuple[str, int, dict[str, str]]:
    page = render_template("login-form.html", error=error, username=username)
    return page, status, headers or {}


def _seconds_to_wait(store: UserStore, username: str, now: float) -> float:
    """How long this account and this address must wait before another attempt (0: none)."""
    limits = SignInLimits.from_config(current_app.config)
    since = now - limits.window
    account = store.failed_sign_ins(account_key(username), since)
    address = store.failed_sign_ins(address_key(request.remote_addr), since)
    return max(
        seconds_to_wait(account, limit=limits.per_account, window=limits.window, now=now),
        seconds_to_wait(address, limit=limits.per_address, window=limits.window, now=now),
    )


@bp.get("/login")
def login_form() -> tuple[str, int, dict[str, str]]:
    """Show the login form."""
    return _login_form(error=None, username="", status=200)


@bp.post("/login")
def login() -> WerkzeugResponse | tuple[str, int, dict[str, str]]:
    """Check the password; on success start a session, set the `username` cookie, redirect.

    Too many wrong passwords for one account, or from one address, answer 429 for a while,
    whatever the password: guessing gets no further.
    """
    form = read_form()
    check_csrf(form.get(CSRF_FIELD))
    username = form.get("username", "").strip()
    password = form.get("password", "")
    if not username or not password:
        return _login_form(
            error="Enter both a username and a password.", username=username, status=400
        )
    if len(username) > _MAX_FIELD_LENGTH or len(password) > _MAX_FIELD_LENGTH:
        return _login_form(error="That username or password is too long.", username="", status=400)
    store = get_user_store()
    now = time.time()
    if wait := _seconds_to_wait(store, username, now):
        minutes = math.ceil(wait / 60)
        return _login_form(
            error=f"Too many failed sign-ins. Try again in {minutes} minute(s).",
            username=username,
            status=429,
            headers={"Retry-After": str(math.ceil(wait))},
        )
    user = store.authenticate(username, password)
    if user is None:
        window = current_app.config["SIGN_IN_FAILURE_WINDOW"]
        keys = (account_key(username), address_key(request.remote_addr))
        store.record_failed_sign_in(keys, now, keep=window)
        return _login_form(error="Wrong username or password.", username=username, status=401)
    store.forget_failed_sign_ins(account_key(username))
    generation = store.session_generation(user.username)
    start_session(user.username, generation or 0)
    flash(f"Signed in as {user.username}.")
    response = redirect(url_for("users.profile", username=user.username), code=303)
    response.set_cookie(
        USERNAME_COOKIE,
        user.username,
        max_age=current_app.config["USERNAME_COOKIE_MAX_AGE"],
        httponly=True,
        samesite="Lax",
        secure=served_over_tls(),
    )
    return response


@bp.post("/logout")
def logout() -> WerkzeugResponse:
    """Sign out everywhere (every session of this user ends) and forget the `username` cookie."""
    form = read_form()
    check_csrf(form.get(CSRF_FIELD))
    username = signed_in_user()
    if username is not None:
        get_user_store().end_sessions(username)
    end_session()
    if username is not None:
        flash("You are signed out.")
    response = redirect(url_for("pages.index"), code=303)
    response.delete_cookie(USERNAME_COOKIE, httponly=True, samesite="Lax")
    return response
