# ruff: noqa: F403, F405
"""The /api/tasks endpoints. Every call needs an API token."""

import functools
import os
import secrets

from flask import *
from werkzeug.utils import secure_filename

from taskboard.store import TaskStore

api = Blueprint("api", __name__)


def token_required(view):
    """Reject calls without a known `Authorization: Bearer <token>` header."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        known = current_app.config["API_TOKENS"]
        if scheme != "Bearer" or not any(secrets.compare_digest(token, k) for k in known):
            abort(401)
        return view(*args, **kwargs)

    return checked


def get_store():
    if "store" not in g:
        g.store = TaskStore(current_app.config["DATA_DIR"])
    return g.store


def get_task_or_404(task_id):
    task = get_store().get(task_id)
    if task is None:
        abort(404, f"Task {task_id} does not exist.")
    return task


@api.route("/tasks")
@token_required
def list_tasks():
    tasks = get_store().all()
    if "done" in request.args:
        wanted = request.args["done"] == "true"
        tasks = [task for task in tasks if task["done"] == wanted]
    return jsonify(tasks=tasks)


@api.route("/tasks", methods=["POST"])
@token_required
def create_task():
    payload = request.get_json(silent=True) or {}
    title = str(payload.get("title", "")).strip()
    if not title:
        abort(400, "A task needs a title.")
    task = get_store().add(title, assignee=payload.get("assignee"))
    return jsonify(task), 201


@api.route("/tasks/<int:task_id>")
@token_required
def show_task(task_id):
    return jsonify(get_task_or_404(task_id))


@api.route("/tasks/<int:task_id>", methods=["PATCH"])
@token_required
def update_task(task_id):
    get_task_or_404(task_id)
    payload = request.json
    changes = {key: payload[key] for key in ("title", "assignee", "done") if key in payload}
    return jsonify(get_store().update(task_id, **changes))


@api.route("/tasks/<int:task_id>", methods=["DELETE"])
@token_required
def delete_task(task_id):
    get_task_or_404(task_id)
    get_store().delete(task_id)
    return "", 204


@api.route("/tasks/<int:task_id>/attachments", methods=["POST"])
@token_required
def add_attachments(task_id):
    task = get_task_or_404(task_id)
    uploads = request.files.getlist("files")
    if not uploads:
        abort(400, "Send the files in a multipart field named 'files'.")
    folder = get_store().attachment_dir(task_id)
    names = list(task["attachments"])
    for upload in uploads:
        name = secure_filename(upload.filename)
        upload.save(os.path.join(folder, name))
        names.append(name)
    return jsonify(get_store().update(task_id, attachments=names)), 201


@api.route("/tasks/<int:task_id>/attachments/<name>")
@token_required
def download_attachment(task_id, name):
    task = get_task_or_404(task_id)
    if name not in task["attachments"]:
        abort(404)
    return send_from_directory(
        get_store().attachment_dir(task_id),
        name,
        as_attachment=True,
        download_name=f"task-{task_id}-{name}",
    )
