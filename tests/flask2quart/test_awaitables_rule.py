from __future__ import annotations

from pathlib import Path

import pytest

from .porting import dedent, port_one, rules

VIEW = """\
from flask import (
    Flask, abort, flash, jsonify, make_response, redirect, render_template,
    render_template_string, request, send_file, send_from_directory, session, url_for,
)

app = Flask(__name__)


@app.route("/")
def view():
    {body}
"""


def _port_view(tmp_path: Path, body: str) -> tuple[str, list[str]]:
    text, findings = port_one(tmp_path, VIEW.format(body=body))
    return text.split("async def view():\n    ", 1)[1].rstrip("\n"), rules(findings)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("return request.form", "return await request.form"),
        ('return request.form["name"]', 'return (await request.form)["name"]'),
        ('return request.form.get("name", "")', 'return (await request.form).get("name", "")'),
        ("return request.files", "return await request.files"),
        ("return request.values", "return await request.values"),
        ("return request.data", "return await request.data"),
        ('return request.json["x"]', 'return (await request.json)["x"]'),
        ("return request.get_json(silent=True)", "return await request.get_json(silent=True)"),
        ("return request.get_data(as_text=True)", "return await request.get_data(as_text=True)"),
        ('return render_template("a.html")', 'return await render_template("a.html")'),
        ('return render_template_string("x")', 'return await render_template_string("x")'),
        ('return make_response("x", 201)', 'return await make_response("x", 201)'),
        ('return send_file("a.txt")', 'return await send_file("a.txt", conditional=True)'),
        ('return send_from_directory("d", "a")', 'return await send_from_directory("d", "a")'),
        ('flash("hi")', 'await flash("hi")'),
        (
            'return make_response(render_template("a.html"))',
            'return await make_response(await render_template("a.html"))',
        ),
        ("return len(request.form) + 1", "return len(await request.form) + 1"),
        ('return "x" in request.files', 'return "x" in await request.files'),
    ],
)
def test_quart_awaitables_are_awaited(tmp_path: Path, before: str, after: str) -> None:
    assert _port_view(tmp_path, before) == (after, [])


@pytest.mark.parametrize(
    "body",
    [
        'return request.args.get("q")',
        'return request.cookies["c"]',
        'return redirect(url_for("view"))',
        'return session.get("user")',
        "return jsonify(ok=True)",
        "abort(404)",
        "return request.method, request.headers, request.path",
    ],
)
def test_synchronous_apis_stay_as_they_are(tmp_path: Path, body: str) -> None:
    ported, found = _port_view(tmp_path, body)
    assert ported == body
    # Reading the session is left as it is, with a note about Vary: Cookie.
    assert found == (["session-vary"] if "session" in body else [])


def test_already_awaited_code_is_left_alone(tmp_path: Path) -> None:
    source = dedent(
        """\
        from quart import Quart, render_template, request

        app = Quart(__name__)


        @app.route("/")
        async def view():
            name = (await request.form)["name"]
            return await render_template("a.html", name=name)
        """
    )
    text, findings = port_one(tmp_path, source)
    assert text == source
    assert findings == []


def test_comments_and_odd_formatting_survive(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask import Flask, render_template, request

        app = Flask(__name__)


        @app.route( "/" ,methods = [ "POST" ] )   # odd decorator
        def view( ):
            # before
            name = request.form[ "name" ]    # trailing
            return render_template(
                "a.html",   # template
                name = name,
            )
        """,
    )
    assert text == dedent(
        """\
        from quart import Quart, render_template, request

        app = Quart(__name__)


        @app.route( "/" ,methods = [ "POST" ] )   # odd decorator
        async def view( ):
            # before
            name = (await request.form)[ "name" ]    # trailing
            return await render_template(
                "a.html",   # template
                name = name,
            )
        """
    )


def test_a_local_named_request_is_not_flasks(tmp_path: Path) -> None:
    source = dedent(
        """\
        from flask import Flask

        app = Flask(__name__)


        def handle(request):
            return request.form["x"]
        """
    )
    text, _ = port_one(tmp_path, source)
    assert 'return request.form["x"]' in text


def test_file_storage_save_is_awaited_where_the_value_came_from_request_files(
    tmp_path: Path,
) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask import Flask, request
        from werkzeug.datastructures import FileStorage

        app = Flask(__name__)


        @app.post("/")
        def upload():
            one = request.files["one"]
            one.save("/tmp/one")
            two = request.files.get("two")
            two.save("/tmp/two")
            for many in request.files.getlist("many"):
                many.save("/tmp/many")
            request.files["three"].save("/tmp/three")
            other = open("x")
            other.save("not a file storage")
            return ""


        def keep(upload: FileStorage) -> None:
            upload.save("/tmp/kept")
        """,
    )
    assert 'one = (await request.files)["one"]\n    await one.save("/tmp/one")' in text
    assert 'await two.save("/tmp/two")' in text
    assert 'await many.save("/tmp/many")' in text
    assert 'await (await request.files)["three"].save("/tmp/three")' in text
    assert 'other.save("not a file storage")' in text
    assert "async def keep(upload: FileStorage) -> None:" in text
    assert 'await upload.save("/tmp/kept")' in text


def test_open_resource_becomes_a_plain_open(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask import current_app


        def init_db(db):
            with current_app.open_resource("schema.sql") as f:
                db.executescript(f.read().decode("utf8"))
            with current_app.open_resource("seed.txt", "r") as f:
                return f.read()
        """,
    )
    assert text == dedent(
        """\
        import os

        from quart import current_app


        def init_db(db):
            with open(os.path.join(current_app.root_path, "schema.sql"), "rb") as f:
                db.executescript(f.read().decode("utf8"))
            with open(os.path.join(current_app.root_path, "seed.txt"), "r") as f:
                return f.read()
        """
    )
