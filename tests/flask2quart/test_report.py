from __future__ import annotations

import json
from pathlib import Path

import pytest

from flask2quart.report import Finding, format_json, format_text

from .porting import port_one, rules


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from flask_cors import CORS\n", "quart-cors"),
        ("import flask_login\n", "quart-auth"),
        ("from flask_caching import Cache\n", "quart-flask-patch"),
        ("from flask.ext.sqlalchemy import SQLAlchemy\n", "quart-sqlalchemy"),
    ],
)
def test_flask_extensions_are_reported_with_their_counterpart(
    tmp_path: Path, source: str, expected: str
) -> None:
    text, findings = port_one(tmp_path, source)
    assert text == source
    assert rules(findings) == ["extension"]
    assert expected in findings[0].suggestion
    assert (findings[0].line, findings[0].column) == (1, 1)


def test_what_quart_lacks_is_reported_where_it_is(tmp_path: Path) -> None:
    _, findings = port_one(
        tmp_path,
        """\
        import threading
        import time

        from flask import Flask, Response, request, stream_with_context

        app = Flask(__name__)
        app.config.from_prefixed_env()


        @app.before_first_request
        def setup():
            threading.Thread(target=print).start()


        @app.route("/stream")
        def stream():
            chunk = request.stream.read()
            time.sleep(1)
            return Response(stream_with_context(iter([chunk])))


        if __name__ == "__main__":
            app.run(host="0.0.0.0", debug=True, threaded=True, ssl_context="adhoc")
        """,
    )
    found = {(finding.rule, finding.line) for finding in findings}
    assert found == {
        ("prefixed-env", 7),
        ("before-first-request", 10),
        ("thread", 12),
        ("request-stream", 17),
        ("blocking-io", 18),
        ("stream-with-context", 19),
        ("app-run", 23),
    }
    run_findings = [finding for finding in findings if finding.rule == "app-run"]
    assert len(run_findings) == 2
    assert any("--workers" in finding.suggestion for finding in run_findings)
    assert any("certfile" in finding.suggestion for finding in run_findings)


@pytest.mark.parametrize(
    "sqlite_import",
    [
        "import sqlite3",
        "from sqlite3 import dbapi2 as sqlite3",
        "import sqlite3.dbapi2 as sqlite3",
    ],
)
def test_blocking_calls_are_followed_through_project_functions(
    tmp_path: Path, sqlite_import: str
) -> None:
    _, findings = port_one(
        tmp_path,
        f"""\
        {sqlite_import}

        from flask import Flask

        app = Flask(__name__)


        def get_db():
            return sqlite3.connect("app.db")


        def count():
            return get_db().execute("SELECT 1").fetchone()


        @app.route("/")
        def index():
            return str(count())


        def cli_only():
            return count()
        """,
    )
    [finding] = findings
    assert finding.rule == "blocking-io"
    assert finding.line == 18
    assert "`count()` (-> get_db() -> sqlite3.connect())" in finding.message


def test_reading_the_session_is_reported_once_per_module(tmp_path: Path) -> None:
    _, findings = port_one(
        tmp_path,
        """\
        from flask import Flask, session

        app = Flask(__name__)


        @app.route("/")
        def index():
            return session.get("user") or session["guest"]
        """,
    )
    [finding] = findings
    assert (finding.rule, finding.line) == ("session-vary", 8)
    assert "Vary: Cookie" in finding.message


def test_text_and_json_formats() -> None:
    finding = Finding("app.py", 3, 5, "thread", "a thread", "use a task")
    assert format_text([finding, finding]) == (
        "app.py:3:5: [thread] a thread\n    suggestion: use a task\n"
    )
    assert format_text([]) == ""
    assert json.loads(format_json([finding])) == [
        {
            "path": "app.py",
            "line": 3,
            "column": 5,
            "rule": "thread",
            "message": "a thread",
            "suggestion": "use a task",
            "severity": "advice",
        }
    ]


def test_blocking_calls_are_followed_through_methods(tmp_path: Path) -> None:
    _, findings = port_one(
        tmp_path,
        """\
        import sqlite3

        from flask import Flask

        app = Flask(__name__)


        class Store:
            def open(self):
                self._db = sqlite3.connect("app.db")

            def reopen(self):
                self.open()


        def get_store():
            store = Store()
            store.reopen()
            return store


        @app.route("/")
        def index():
            return str(get_store())
        """,
    )
    [finding] = findings
    assert "`get_store()` (-> reopen() -> open() -> sqlite3.connect())" in finding.message
