"""Signing in and out: the tutorial's /login with hashed passwords and a signed session."""

from __future__ import annotations

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
from ..security import (
    CSRF_FIELD,
    check_csrf,
    end_session,
    served_over_tls,
    signed_in_user,
    start_session,
)
from .pages import USERNAME_COOKIE

bp = Blueprint("auth", __name__)

_MAX_FIELD_LENGTH = 200


def _login_form(*, error: str | None, username: str, status: int) -> tuple[str, int]:
    page = render_template("login-form.html", error=error, username=username)
    return page, status


@bp.get("/login")
def login_form() -> tuple[str, int]:
    """Show the login form."""
    return _login_form(error=None, username="", status=200)


@bp.post("/login")
def login() -> WerkzeugResponse | tuple[str, int]:
    """Check the password; on success start a session, set the `username` cookie, redirect."""
    check_csrf(request.form.get(CSRF_FIELD))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        return _login_form(
            error="Enter both a username and a password.", username=username, status=400
        )
    if len(username) > _MAX_FIELD_LENGTH or len(password) > _MAX_FIELD_LENGTH:
        return _login_form(error="That username or password is too long.", username="", status=400)
    user = get_user_store().authenticate(username, password)
    if user is None:
        return _login_form(error="Wrong username or password.", username=username, status=401)
    start_session(user.username)
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
    """Sign out and forget the `username` cookie."""
    check_csrf(request.form.get(CSRF_FIELD))
    was_signed_in = signed_in_user() is not None
    end_session()
    if was_signed_in:
        flash("You are signed out.")
    response = redirect(url_for("pages.index"), code=303)
    response.delete_cookie(USERNAME_COOKIE, httponly=True, samesite="Lax")
    return response
