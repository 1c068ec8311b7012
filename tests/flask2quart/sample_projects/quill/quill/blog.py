"""Posts: the front page, writing, editing and deleting, and a JSON export of one's own."""

import io
import json

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from .auth import login_required
from .db import get_db

bp = Blueprint("blog", __name__)


@bp.route("/")
def index():
    """Every post, newest first."""
    posts = (
        get_db()
        .execute(
            "SELECT p.id, title, body, created, author_id, username"
            " FROM post p JOIN user u ON p.author_id = u.id"
            " ORDER BY created DESC, p.id DESC"
        )
        .fetchall()
    )
    return render_template("blog/index.html", posts=posts)


def get_post(post_id, check_author=True):
    """A post by id; 404 if it does not exist, 403 if it is someone else's."""
    post = (
        get_db()
        .execute(
            "SELECT p.id, title, body, created, author_id, username"
            " FROM post p JOIN user u ON p.author_id = u.id WHERE p.id = ?",
            (post_id,),
        )
        .fetchone()
    )
    if post is None:
        abort(404)
    if check_author and post["author_id"] != g.user["id"]:
        abort(403)
    return post


def _save(post_id=None):
    """Store the submitted post (a new one without `post_id`); a problem, or None if saved."""
    title = request.form["title"].strip()
    if not title:
        return "A title is required."
    db = get_db()
    if post_id is None:
        db.execute(
            "INSERT INTO post (title, body, author_id) VALUES (?, ?, ?)",
            (title, request.form["body"], g.user["id"]),
        )
    else:
        db.execute(
            "UPDATE post SET title = ?, body = ? WHERE id = ?",
            (title, request.form["body"], post_id),
        )
    db.commit()
    return None


@bp.route("/create", methods=("GET", "POST"))
@login_required
def create():
    """Write a new post."""
    if request.method == "POST":
        problem = _save()
        if problem is None:
            return redirect(url_for("blog.index"))
        flash(problem)
    return render_template("blog/create.html")


@bp.route("/<int:post_id>/update", methods=("GET", "POST"))
@login_required
def update(post_id):
    """Edit one's post."""
    post = get_post(post_id)
    if request.method == "POST":
        problem = _save(post_id)
        if problem is None:
            return redirect(url_for("blog.index"))
        flash(problem)
    return render_template("blog/update.html", post=post)


@bp.post("/<int:post_id>/delete")
@login_required
def delete(post_id):
    """Delete one's post."""
    get_post(post_id)
    with get_db() as db:
        db.execute("DELETE FROM post WHERE id = ?", (post_id,))
    return redirect(url_for("blog.index"))


@bp.route("/export.json")
@login_required
def export():
    """Download one's posts as a JSON file."""
    rows = (
        get_db()
        .execute(
            "SELECT title, body, created FROM post WHERE author_id = ? ORDER BY id",
            (g.user["id"],),
        )
        .fetchall()
    )
    payload = [
        {"title": row["title"], "body": row["body"], "created": str(row["created"])}
        for row in rows
    ]
    return send_file(
        io.BytesIO(json.dumps(payload, indent=2).encode()),
        mimetype="application/json",
        as_attachment=True,
        download_name=f"{g.user['username']}-posts.json",
    )
