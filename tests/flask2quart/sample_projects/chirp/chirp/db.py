"""The SQLite database and a small query helper."""

import sqlite3

from flask import current_app, g

SCHEMA = """
create table user (
  user_id integer primary key autoincrement,
  username text not null unique,
  email text not null,
  pw_hash text not null
);
create table follower (
  who_id integer,
  whom_id integer
);
create table message (
  message_id integer primary key autoincrement,
  author_id integer not null,
  text text not null,
  pub_date integer
);
"""


def get_db():
    """The connection of the current application context."""
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"])
        g.db.row_factory = sqlite3.Row
    return g.db


def query_db(query, args=(), one=False):
    """Run a query; a list of rows, or the first row (or None) with `one=True`."""
    rows = get_db().execute(query, args).fetchall()
    return (rows[0] if rows else None) if one else rows


def create_tables():
    """Create the tables in an empty database."""
    get_db().executescript(SCHEMA)


def close_connection(exception):
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


def init_app(app):
    app.teardown_appcontext(close_connection)
