"""Signing up, in and out."""

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from chirp.db import get_db, query_db
from chirp.helpers import get_user_id

bp = Blueprint("auth", __name__)


@bp.before_app_request
def load_user():
    g.user = None
    if "user_id" in session:
        g.user = query_db("select * from user where user_id = ?", [session["user_id"]], one=True)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign the user in."""
    if g.user:
        return redirect(url_for("timeline.home"))
    error = None
    if request.method == "POST":
        user = query_db(
            "select * from user where username = ?", [request.form["username"]], one=True
        )
        if user is None:
            error = "Unknown username"
        elif not check_password_hash(user["pw_hash"], request.form["password"]):
            error = "Wrong password"
        else:
            flash("Signed in.")
            session["user_id"] = user["user_id"]
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/") else url_for("timeline.home"))
    return render_template("login.html", error=error)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Create an account."""
    if g.user:
        return redirect(url_for("timeline.home"))
    error = None
    if request.method == "POST":
        form = request.form
        if not form["username"]:
            error = "Pick a username"
        elif "@" not in form["email"]:
            error = "That email address does not look right"
        elif not form["password"] or form["password"] != form["password2"]:
            error = "The passwords are empty or differ"
        elif get_user_id(form["username"]) is not None:
            error = "Someone already has that username"
        else:
            db = get_db()
            db.execute(
                "insert into user (username, email, pw_hash) values (?, ?, ?)",
                [
                    form["username"],
                    form["email"],
                    generate_password_hash(form["password"], method="pbkdf2:sha256:1000"),
                ],
            )
            db.commit()
            flash("Welcome aboard! Sign in to start chirping.")
            return redirect(url_for("auth.login"))
    return render_template("signup.html", error=error)


@bp.route("/logout")
def logout():
    """Sign the user out."""
    if "user_id" not in session:
        abort(400)
    flash("Signed out.")
    session.pop("user_id", None)
    return redirect(url_for("timeline.public"))
