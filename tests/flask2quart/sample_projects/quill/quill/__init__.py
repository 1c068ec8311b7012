"""Quill: a small multi-author blog."""

import os

import click
from flask import Flask


def create_app(test_config=None):
    """Application factory: configuration, database, blueprints and commands."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "quill.sqlite"),
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    from . import auth, blog, db, errors, pages

    db.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(blog.bp)
    app.register_blueprint(pages.bp)
    app.add_url_rule("/", endpoint="index")

    @app.cli.command("init-db")
    def init_db_command():
        """Drop every table and create them again, empty."""
        db.init_db()
        click.echo("Initialized the database.")

    return app
