"""Notes: list, create, edit, delete, attachments and a small JSON API."""

from __future__ import annotations

import csv
import io
import os

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.utils import secure_filename

from notebook.auth import login_required
from notebook.db import get_db
from notebook.forms import flash_all, note_errors

bp = Blueprint("notes", __name__)


@bp.app_context_processor
def inject_note_count():
    """Show how many notes the logged-in user has in the navigation bar."""
    if g.get("user") is None:
        return {"note_count": 0}
    row = (
        get_db()
        .execute("SELECT COUNT(*) FROM note WHERE author_id = ?", (g.user["id"],))
        .fetchone()
    )
    return {"note_count": row[0]}


def get_note(note_id, check_author=True):
    """Fetch a note by id, or abort with 404 (missing) or 403 (someone else's)."""
    note = (
        get_db()
        .execute(
            "SELECT n.id, title, body, created, author_id, username"
            " FROM note n JOIN user u ON n.author_id = u.id"
            " WHERE n.id = ?",
            (note_id,),
        )
        .fetchone()
    )
    if note is None:
        abort(404, f"Note id {note_id} doesn't exist.")
    if check_author and note["author_id"] != g.user["id"]:
        abort(403)
    return note


@bp.route("/")
def index():
    """List every note, newest first, optionally filtered by a search term."""
    query = request.args.get("q", "")
    notes = (
        get_db()
        .execute(
            "SELECT n.id, title, body, created, author_id, username"
            " FROM note n JOIN user u ON n.author_id = u.id"
            " WHERE title LIKE ? ORDER BY created DESC, n.id DESC",
            (f"%{query}%",),
        )
        .fetchall()
    )
    return render_template("notes/index.html", notes=notes, query=query)


@bp.route("/create", methods=("GET", "POST"))
@login_required
def create():
    """Create a note for the logged-in user."""
    if request.method == "POST":
        errors = note_errors(request.form)
        if errors:
            flash_all(errors)
        else:
            db = get_db()
            db.execute(
                "INSERT INTO note (title, body, author_id) VALUES (?, ?, ?)",
                (request.form["title"], request.form["body"], g.user["id"]),
            )
            db.commit()
            flash("Note created.")
            return redirect(url_for("notes.index"))
    return render_template("notes/create.html", form=request.form)


@bp.route("/<int:note_id>/update", methods=("GET", "POST"))
@login_required
def update(note_id):
    """Edit one of the logged-in user's notes."""
    note = get_note(note_id)
    if request.method == "POST":
        errors = note_errors(request.form)
        if errors:
            flash_all(errors)
        else:
            db = get_db()
            db.execute(
                "UPDATE note SET title = ?, body = ? WHERE id = ?",
                (request.form["title"], request.form["body"], note_id),
            )
            db.commit()
            return redirect(url_for("notes.index"))
    return render_template("notes/update.html", note=note, form=request.form)


@bp.route("/<int:note_id>/delete", methods=("POST",))
@login_required
def delete(note_id):
    """Delete a note and its attachments."""
    get_note(note_id)
    db = get_db()
    db.execute("DELETE FROM attachment WHERE note_id = ?", (note_id,))
    db.execute("DELETE FROM note WHERE id = ?", (note_id,))
    db.commit()
    flash("Note deleted.")
    return redirect(url_for("notes.index"))


@bp.route("/<int:note_id>/attachments", methods=("POST",))
@login_required
def attach(note_id):
    """Store an uploaded file with a note."""
    get_note(note_id)
    upload = request.files.get("attachment")
    if upload is None or not upload.filename:
        flash("Choose a file to attach.")
        return redirect(url_for("notes.update", note_id=note_id))
    filename = secure_filename(upload.filename)
    upload.save(os.path.join(current_app.config["UPLOAD_FOLDER"], f"{note_id}-{filename}"))
    db = get_db()
    db.execute("INSERT INTO attachment (note_id, filename) VALUES (?, ?)", (note_id, filename))
    db.commit()
    flash(f"Attached {filename}.")
    return redirect(url_for("notes.update", note_id=note_id))


@bp.route("/<int:note_id>/attachments/<name>")
@login_required
def attachment(note_id, name):
    """Download an attachment of one of the user's notes."""
    get_note(note_id)
    return send_from_directory(
        current_app.config["UPLOAD_FOLDER"], f"{note_id}-{secure_filename(name)}"
    )


@bp.route("/export.csv")
@login_required
def export():
    """Download the user's notes as CSV."""
    rows = get_db().execute(
        "SELECT id, title, body FROM note WHERE author_id = ? ORDER BY id", (g.user["id"],)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "title", "body"])
    writer.writerows(tuple(row) for row in rows)
    response = make_response(buffer.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = "attachment; filename=notes.csv"
    return response


@bp.get("/api/notes")
def api_list():
    """All notes as JSON."""
    rows = get_db().execute("SELECT id, title, body, author_id FROM note ORDER BY id")
    return jsonify([dict(row) for row in rows])


@bp.post("/api/notes")
@login_required
def api_create():
    """Create a note from a JSON body; answers 422 with the errors if it is invalid."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(errors=["Send a JSON object."]), 400
    errors = note_errors(payload)
    if errors:
        return jsonify(errors=errors), 422
    db = get_db()
    cursor = db.execute(
        "INSERT INTO note (title, body, author_id) VALUES (?, ?, ?)",
        (payload["title"], payload["body"], g.user["id"]),
    )
    db.commit()
    return jsonify(id=cursor.lastrowid, title=payload["title"]), 201
