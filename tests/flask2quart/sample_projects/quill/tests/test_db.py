import sqlite3

import pytest
from quill.db import get_db


def test_one_connection_per_context_closed_at_its_end(app):
    with app.app_context():
        db = get_db()
        assert get_db() is db

    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        db.execute("SELECT 1")


def test_init_db_command_empties_the_database(app, cli):
    result = cli.invoke(args=["init-db"])

    assert result.exit_code == 0, result.output
    assert "Initialized the database." in result.output
    with app.app_context():
        assert get_db().execute("SELECT COUNT(*) FROM post").fetchone()[0] == 0


def test_seed_demo_command_adds_an_author_and_posts(app, cli):
    result = cli.invoke(args=["seed-demo", "--author", "linus"])

    assert result.exit_code == 0, result.output
    assert "Added 2 posts by linus." in result.output
    with app.app_context():
        count = (
            get_db()
            .execute(
                "SELECT COUNT(*) FROM post p JOIN user u ON p.author_id = u.id"
                " WHERE username = 'linus'"
            )
            .fetchone()[0]
        )
    assert count == 2


def test_commands_are_listed_in_the_help(cli):
    result = cli.invoke(args=["--help"])

    assert "init-db" in result.output
    assert "seed-demo" in result.output
