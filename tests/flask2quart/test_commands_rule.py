from __future__ import annotations

from pathlib import Path

import pytest

from .porting import dedent, port_files, port_one, ported


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('@app.cli.command("init-db")', '@app.cli.command("init-db", with_appcontext=True)'),
        ("@app.cli.command()", "@app.cli.command(with_appcontext=True)"),
        ('@bp.cli.command("seed")', '@bp.cli.command("seed", with_appcontext=True)'),
        ('@users.command("add")', '@users.command("add", with_appcontext=True)'),
        ('@tools.command("clean")', '@tools.command("clean", with_appcontext=True)'),
    ],
)
def test_app_commands_ask_quart_for_the_app_context_flask_gave_them(
    tmp_path: Path, before: str, after: str
) -> None:
    source = f"""\
        from flask import Blueprint, Flask
        from flask.cli import AppGroup

        app = Flask(__name__)
        bp = Blueprint("bp", __name__)
        tools = AppGroup("tools")


        @app.cli.group()
        def users():
            pass


        {before}
        def command():
            pass
        """
    text, findings = port_one(tmp_path, source)
    assert f"{after}\ndef command():\n" in text
    assert findings == []


@pytest.mark.parametrize(
    "decorator",
    [
        '@app.cli.command("raw", with_appcontext=False)',
        '@click.command("plain")',
    ],
)
def test_commands_that_chose_their_context_are_left_alone(tmp_path: Path, decorator: str) -> None:
    source = f"""\
        import click
        from quart import Quart

        app = Quart(__name__)


        {decorator}
        def command():
            pass
        """
    text, _ = port_one(tmp_path, source)
    assert text == dedent(source)


def test_a_cli_runner_in_an_async_test_runs_the_command_in_a_thread(tmp_path: Path) -> None:
    result = port_files(
        tmp_path,
        {
            "conftest.py": """\
            import pytest


            @pytest.fixture
            def runner(app):
                return app.test_cli_runner()
            """,
            "test_db.py": """\
            def test_init_db(app, runner):
                result = runner.invoke(args=["init-db"])
                assert "Initialized" in result.output
                with app.app_context():
                    pass


            def test_help(runner):
                assert "init-db" in runner.invoke(args=["--help"]).output
            """,
        },
    )
    assert ported(tmp_path, result, "test_db.py") == dedent(
        """\
        import asyncio


        async def test_init_db(app, runner):
            result = await asyncio.to_thread(runner.invoke, args=["init-db"])
            assert "Initialized" in result.output
            async with app.app_context():
                pass


        def test_help(runner):
            assert "init-db" in runner.invoke(args=["--help"]).output
        """
    )
