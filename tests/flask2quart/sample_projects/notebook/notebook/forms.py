"""Validation shared by the HTML views and the JSON API."""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash

MAX_TITLE = 100


def note_errors(fields: Mapping[str, str]) -> list[str]:
    """What is wrong with a submitted note, as user-facing messages."""
    errors = []
    title = fields.get("title", "").strip()
    if not title:
        errors.append("Title is required.")
    elif len(title) > MAX_TITLE:
        errors.append(f"Title must be at most {MAX_TITLE} characters.")
    if not fields.get("body", "").strip():
        errors.append("Body is required.")
    return errors


def flash_all(messages: list[str]) -> None:
    """Flash every message, in order."""
    for message in messages:
        flash(message, "error")
