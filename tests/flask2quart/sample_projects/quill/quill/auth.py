"""Author accounts: sign-up, log in and out, and the guard for views that write."""

import functools

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from .db import get_db

bp = Blueprint("auth", __name__, url_prefix="/auth")

MIN_PASSWORD = 4


def find_author(username):
    """The author's row, or None."""
    return get_db().execute("SELECT * FROM user WHERE username = ?", (username,)).fetchone()


@bp.before_app_request
def remember_author():
    """`g.user` is the logged-in author's row, or None."""
    author_id = session.get("author_id")
    g.user = None
    if author_id is not None:
        g.user = get_db().execute("SELECT * FROM user WHERE id = ?", (author_id,)).fetchone()


def login_required(view):
    """Views that write need an author; others are asked to log in, then sent back."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if g.user is not None:
            return view(*args, **kwargs)
        flash("Log in to write.")
        return redirect(url_for("auth.login", next=request.path))

    return guarded


def _problem_with(username, password):
    if not username:
        return "A username is required."
    if len(password) < MIN_PASSWORD:
        return f"The password needs at least {MIN_PASSWORD} characters."
    if find_author(username) is not None:
        return f"The name {username} is taken."
    return None


@bp.route("/register", methods=("GET", "POST"))
def register():
    """Sign up as an author."""
    if request.method == "GET":
        return render_template("auth/register.html")
    username = request.form["username"].strip()
    password = request.form["password"]
    problem = _problem_with(username, password)
    if problem is not None:
        flash(problem)
        return render_template("auth/register.html"), 400
    db = get_db()
    db.execute(
        "INSERT INTO user (username, password) VALUES (?, ?)",
        (username, generate_password_hash(password, method="pbkdf2:sha256:1000")),
    )
    db.commit()
    flash("Welcome! Log in to start writing.")
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Log an author in, and go back where they were."""
    if request.method == "POST":
        author = find_author(request.form["username"])
        password = request.form["password"]
        if author is not None and check_password_hash(author["password"], password):
            session.clear()
            session["author_id"] = author["id"]
            next_page = request.args.get("next", "")
            return redirect(next_page if next_page.startswith("/") else url_for("index"))
        flash("Wrong username or password.")
    return render_template("auth/login.html")


@bp.route("/logout")
def logout():
    """Log the author out."""
    session.pop("author_id", None)
    return redirect(url_for("index"))
