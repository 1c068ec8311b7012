"""Wires the user store into the app: lifecycle hooks, access from views and CLI commands."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import click
from quart import Quart, current_app
from quart.cli import ScriptInfo, pass_script_info

from .application import StartupError, root_cause
from .config import database_location_from
from .database import DatabaseUnavailableError
from .database.migrations import SchemaTooNewError
from .users_store import UserExistsError, UserStore

_EXTENSION_KEY = "user_store"


def get_user_store() -> UserStore:
    """Return the current app's open user store."""
    return cast(UserStore, current_app.extensions[_EXTENSION_KEY])


def _new_store(app: Quart) -> UserStore:
    return UserStore(database_location_from(app.config))


async def _open_store(app: Quart) -> UserStore:
    store = _new_store(app)
    try:
        await store.open()
    except DatabaseUnavailableError as error:
        reason = root_cause(error)
        raise StartupError(
            f"the database {store.location.describe()} does not answer ({reason})"
        ) from error
    except SchemaTooNewError as error:
        raise StartupError(str(error)) from error
    if app.config["SEED_DEMO_USERS"] and await store.count() == 0:
        added = await store.seed_demo_users(app.config["DEMO_PASSWORD"])
        if added:
            app.logger.info("Seeded %d demo users into %s", added, store.location.describe())
    return store


def init_app(app: Quart) -> None:
    """Open the store when serving starts, close it when serving stops, register CLI commands."""

    @app.before_serving
    async def open_user_store() -> None:
        app.extensions[_EXTENSION_KEY] = await _open_store(app)

    @app.after_serving
    async def close_user_store() -> None:
        store = app.extensions.pop(_EXTENSION_KEY, None)
        if store is not None:
            await store.close()

    app.cli.add_command(init_db_command)
    app.cli.add_command(add_user_command)


async def _init_db(app: Quart) -> int:
    store = _new_store(app)
    await store.open()
    try:
        return await store.seed_demo_users(app.config["DEMO_PASSWORD"])
    finally:
        await store.close()


async def _add_user(
    app: Quart, username: str, password: str, joined: dt.date | None, awards: tuple[str, ...]
) -> None:
    store = _new_store(app)
    await store.open()
    try:
        await store.add(username, password, joined_on=joined, awards=awards)
    finally:
        await store.close()


@click.command("init-db")
@pass_script_info
def init_db_command(info: ScriptInfo) -> None:
    """Create the database and add the demo users that are missing."""
    app = info.load_app()
    where = database_location_from(app.config).describe()
    with _database_errors_as_messages(where):
        added = asyncio.run(_init_db(app))
    click.echo(f"Database ready at {where} ({added} demo users added).")


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
@pass_script_info
def add_user_command(
    info: ScriptInfo,
    username: str,
    password: str,
    joined: dt.datetime | None,
    awards: tuple[str, ...],
) -> None:
    """Add a user with a hashed password."""
    app = info.load_app()
    where = database_location_from(app.config).describe()
    try:
        with _database_errors_as_messages(where):
            asyncio.run(
                _add_user(app, username, password, joined.date() if joined else None, awards)
            )
    except UserExistsError:
        raise click.ClickException(f"User {username!r} already exists.") from None
    click.echo(f"Added user {username}.")


@contextmanager
def _database_errors_as_messages(where: str) -> Iterator[None]:
    """A database that does not answer, or is newer than the app, as one line, not a traceback."""
    try:
        yield
    except DatabaseUnavailableError as error:
        reason = root_cause(error)
        raise click.ClickException(f"The database {where} does not answer ({reason}).") from None
    except SchemaTooNewError as error:
        message = str(error)
        raise click.ClickException(f"{message[:1].upper()}{message[1:]}.") from None
