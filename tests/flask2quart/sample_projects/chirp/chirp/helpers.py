"""Helpers for views and templates."""

from datetime import UTC, datetime
from hashlib import md5

from chirp.db import query_db


def get_user_id(username):
    """The id of a user, or None."""
    row = query_db("select user_id from user where username = ?", [username], one=True)
    return row[0] if row else None


def format_datetime(timestamp):
    """Format a timestamp for display."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d @ %H:%M")


def gravatar_url(email, size=80):
    """The Gravatar image URL for an email address."""
    digest = md5(email.strip().lower().encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?d=identicon&s={size}"
