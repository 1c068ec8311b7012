"""One SQLite connection per application context, and the demo-content command."""

from sqlite3 import dbapi2 as sqlite3

import click
from flask import current_app, g
from flask.cli import with_appcontext
from werkzeug.security import generate_password_hash

DEMO_POSTS = (
    ("Why another blog engine", "Because the old one had too many plugins."),
    ("Markdown, briefly", "Stars for emphasis, hashes for headings."),
)


def get_db():
    """The request's connection, opened on first use."""
    if "db" not in g:
        g.db = sqlite3.connect(
            current_app.config["DATABASE"], detect_types=sqlite3.PARSE_DECLTYPES
        )
        g.db.row_factory = sqlite3.Row
    return g.db


def close_db(exception=None):
    """Close the connection when the application context ends."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_db():
    """Create the tables from schema.sql, dropping the old ones."""
    db = get_db()
    with current_app.open_resource("schema.sql") as schema:
        db.executescript(schema.read().decode("utf8"))


@click.command("seed-demo")
@click.option("--author", default="demo", help="Username of the demo author.")
@with_appcontext
def seed_demo_command(author):
    """Add a demo author with a few posts."""
    db = get_db()
    cursor = db.execute(
        "INSERT INTO user (username, password) VALUES (?, ?)",
        (author, generate_password_hash(author, method="pbkdf2:sha256:1000")),
    )
    db.executemany(
        "INSERT INTO post (author_id, title, body) VALUES (?, ?, ?)",
        [(cursor.lastrowid, title, body) for title, body in DEMO_POSTS],
    )
    db.commit()
    click.echo(f"Added {len(DEMO_POSTS)} posts by {author}.")


def init_app(app):
    """Close connections after each context and register the commands."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(seed_demo_command)
