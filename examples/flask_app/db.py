"""Wires the user store into the app: one connection per request, setup and CLI commands."""

from __future__ import annotations

import datetime as dt
from typing import cast

import click
from flask import Flask, current_app, g
from flask.cli import with_appcontext

from .users_store import UserExistsError, UserStore


def get_user_store() -> UserStore:
    """Return this request's user store, opening it on first use."""
    if "user_store" not in g:
        store = UserStore(current_app.config["DATABASE"])
        store.open()
        g.user_store = store
    return cast(UserStore, g.user_store)


def close_user_store(error: BaseException | None = None) -> None:
    """Close this request's user store, if one was opened."""
    store = g.pop("user_store", None)
    if store is not None:
        store.close()


def _seed_demo_users(app: Flask) -> int:
    store = UserStore(app.config["DATABASE"])
    store.open()
    try:
        return store.seed_demo_users(app.config["DEMO_PASSWORD"])
    finally:
        store.close()


def _prepare_database(app: Flask) -> None:
    store = UserStore(app.config["DATABASE"])
    store.open()
    try:
        if store.count() > 0:
            return
        added = store.seed_demo_users(app.config["DEMO_PASSWORD"])
    finally:
        store.close()
    if added:
        app.logger.info("Seeded %d demo users into %s", added, app.config["DATABASE"])


def init_app(app: Flask) -> None:
    """Create and seed the database now, close per-request stores, register CLI commands."""
    # Flask has no hook that runs once before serving (before_first_request is gone since 2.3):
    # setup runs while the app is built.
    if app.config["SEED_DEMO_USERS"]:
        _prepare_database(app)
    app.teardown_appcontext(close_user_store)
    app.cli.add_command(init_db_command)
    app.cli.add_command(add_user_command)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the database and add the demo users that are missing."""
    app = current_app
    added = _seed_demo_users(app)
    click.echo(f"Database ready at {app.config['DATABASE']} ({added} demo users added).")


@click.command("add-user")
@click.argument("username")
@click.password_option()
@click.option(
    "--joined",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Join date, YYYY-MM-DD (default: today).",
)
@click.option("--award", "awards", multiple=True, help="An award; repeat for several.")
@with_appcontext
def add_user_command(
    username: str, password: str, joined: dt.datetime | None, awards: tuple[str, ...]
) -> None:
    """Add a user with a hashed password."""
    store = get_user_store()
    try:
        store.add(username, password, joined_on=joined.date() if joined else None, awards=awards)
    except UserExistsError:
        raise click.ClickException(f"User {username!r} already exists.") from None
    click.echo(f"Added user {username}.")
