"""Timelines, following, and posting."""

import time

from flask import Blueprint, abort, current_app, flash, g, redirect, request, session, url_for

from chirp.db import get_db, query_db
from chirp.decorators import login_required, templated
from chirp.helpers import get_user_id

bp = Blueprint("timeline", __name__)

MESSAGES_BY = """
select message.*, user.* from message, user
where message.author_id = user.user_id and ({where})
order by message.pub_date desc, message.message_id desc limit ?
"""


@bp.route("/")
@login_required
@templated("timeline.html")
def home():
    """The signed-in user's messages and those of the people they follow."""
    messages = query_db(
        MESSAGES_BY.format(
            where="user.user_id = ? or user.user_id in"
            " (select whom_id from follower where who_id = ?)"
        ),
        [session["user_id"], session["user_id"], current_app.config["PER_PAGE"]],
    )
    return {"messages": messages, "title": "My timeline"}


@bp.route("/public")
@templated("timeline.html")
def public():
    """Everyone's latest messages."""
    messages = query_db(MESSAGES_BY.format(where="1 = 1"), [current_app.config["PER_PAGE"]])
    return {"messages": messages, "title": "Public timeline"}


@bp.route("/<username>")
@templated("timeline.html")
def user_timeline(username):
    """One user's messages."""
    profile = query_db("select * from user where username = ?", [username], one=True)
    if profile is None:
        abort(404)
    followed = g.user is not None and (
        query_db(
            "select 1 from follower where who_id = ? and whom_id = ?",
            [g.user["user_id"], profile["user_id"]],
            one=True,
        )
        is not None
    )
    messages = query_db(
        MESSAGES_BY.format(where="user.user_id = ?"),
        [profile["user_id"], current_app.config["PER_PAGE"]],
    )
    return {
        "messages": messages,
        "followed": followed,
        "profile": profile,
        "title": f"{username}'s timeline",
    }


def _set_following(username, follow):
    whom_id = get_user_id(username)
    if whom_id is None:
        abort(404)
    db = get_db()
    if follow:
        db.execute(
            "insert into follower (who_id, whom_id) values (?, ?)", [g.user["user_id"], whom_id]
        )
    else:
        db.execute(
            "delete from follower where who_id = ? and whom_id = ?", [g.user["user_id"], whom_id]
        )
    db.commit()


@bp.route("/<username>/follow")
@login_required
def follow_user(username):
    """Follow a user."""
    _set_following(username, True)
    flash(f"You now follow {username}.")
    return redirect(url_for("timeline.user_timeline", username=username))


@bp.route("/<username>/unfollow")
@login_required
def unfollow_user(username):
    """Stop following a user."""
    _set_following(username, False)
    flash(f"You no longer follow {username}.")
    return redirect(url_for("timeline.user_timeline", username=username))


@bp.route("/post", methods=["POST"])
@login_required
def post_message():
    """Publish a message."""
    text = request.form["text"].strip()
    if text:
        db = get_db()
        db.execute(
            "insert into message (author_id, text, pub_date) values (?, ?, ?)",
            (session["user_id"], text, int(time.time())),
        )
        db.commit()
        flash("Chirped!")
    return redirect(url_for("timeline.home"))
