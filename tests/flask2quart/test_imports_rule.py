from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import flask
import pytest

from flask2quart.imports import quart_home
from flask2quart.names import FLASK_STAR_NAMES, NO_COUNTERPART, SHARED_SUBMODULES

from .porting import dedent, port_one, rules


def test_flask_names_import_from_quart_with_flask_renamed(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask import Flask, request  # the app and its request
        from flask import (
            Blueprint,   # odd   spacing kept
            g,
        )

        app = Flask(__name__)
        bp = Blueprint("bp", __name__)
        """,
    )
    assert text == dedent(
        """\
        from quart import Quart, request  # the app and its request
        from quart import (
            Blueprint,   # odd   spacing kept
            g,
        )

        app = Quart(__name__)
        bp = Blueprint("bp", __name__)
        """
    )


def test_module_imports_and_attribute_access_follow(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        import flask
        import flask.views as views

        app = flask.Flask(__name__)
        view = views.MethodView
        """,
    )
    assert text == dedent(
        """\
        import quart
        import quart.views as views

        app = quart.Quart(__name__)
        view = views.MethodView
        """
    )


def test_aliased_flask_keeps_its_alias(tmp_path: Path) -> None:
    text, _ = port_one(tmp_path, "from flask import Flask as F\napp = F(__name__)\n")
    assert text == "from quart import Quart as F\napp = F(__name__)\n"


def test_testing_names_and_file_storage_move_home(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask.testing import FlaskClient
        from werkzeug.datastructures import FileStorage, MultiDict


        def helper(client: FlaskClient, upload: FileStorage, data: MultiDict) -> None:
            pass
        """,
    )
    assert text == dedent(
        """\
        from quart.testing import QuartClient
        from quart.datastructures import FileStorage
        from werkzeug.datastructures import MultiDict


        def helper(client: QuartClient, upload: FileStorage, data: MultiDict) -> None:
            pass
        """
    )


def test_werkzeug_imports_other_than_file_storage_stay(tmp_path: Path) -> None:
    source = (
        "from werkzeug.exceptions import NotFound\nfrom werkzeug.utils import secure_filename\n"
    )
    text, findings = port_one(tmp_path, source)
    assert text == source
    assert findings == []


def test_names_without_counterpart_stay_on_flask_and_are_reported(tmp_path: Path) -> None:
    source = "from flask.cli import show_server_banner\n"
    text, findings = port_one(tmp_path, source)
    assert text == source
    assert rules(findings) == ["no-counterpart"]
    assert findings[0].line == 1


def test_code_without_flask_is_untouched(tmp_path: Path) -> None:
    source = "import json  # nothing to port\n\n\ndef load(s):\n    return json.loads(s)\n"
    text, findings = port_one(tmp_path, source)
    assert text == source
    assert findings == []


def _public_flask_names() -> list[str]:
    names = [
        f"flask.{name}"
        for name, value in vars(flask).items()
        if not name.startswith("_")
        and (not inspect.ismodule(value) or value.__name__.startswith("flask."))
    ]
    for submodule in sorted(SHARED_SUBMODULES):
        module = importlib.import_module(f"flask.{submodule}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", "") == module.__name__
            is_api = inspect.isclass(value) or inspect.isfunction(value)
            if not name.startswith("_") and defined_here and is_api:
                names.append(f"flask.{submodule}.{name}")
    return names


@pytest.mark.parametrize("flask_name", _public_flask_names())
def test_every_public_flask_name_maps_to_an_installed_quart_name(flask_name: str) -> None:
    home = quart_home(flask_name)
    if flask_name in NO_COUNTERPART or home is None:
        assert flask_name in NO_COUNTERPART or flask_name.startswith("flask.json.tag.")
        return
    module_name, _, attribute = home.rpartition(".")
    module = importlib.import_module(module_name)
    if not hasattr(module, attribute):
        importlib.import_module(home)  # a submodule, which the package does not import itself


def test_a_star_import_is_spelled_out_with_the_names_the_module_uses(tmp_path: Path) -> None:
    text, findings = port_one(
        tmp_path,
        """\
        from flask import *

        app = Flask(__name__)


        @app.route("/")
        def index():
            json = request.args.get("q")
            return render_template("index.html", q=json)
        """,
    )
    assert text == dedent(
        """\
        from quart import Quart, render_template, request

        app = Quart(__name__)


        @app.route("/")
        async def index():
            json = request.args.get("q")
            return await render_template("index.html", q=json)
        """
    )
    assert findings == []


def test_a_star_import_the_module_does_not_use_moves_to_quart(tmp_path: Path) -> None:
    text, _ = port_one(tmp_path, "from flask import *\n\nVERSION = 1\n")
    assert text == "from quart import *\n\nVERSION = 1\n"


def test_the_star_names_are_what_flask_exports() -> None:
    namespace: dict[str, object] = {}
    exec("from flask import *", namespace)
    exported = {
        name for name, value in namespace.items() if not inspect.ismodule(value) or name == "json"
    } - {"__builtins__", "annotations"}
    assert exported == FLASK_STAR_NAMES


@pytest.mark.parametrize(
    ("source", "advice"),
    [
        ("from flask import _app_ctx_stack\n", "`g.db` for `_app_ctx_stack.top.db`"),
        ("from flask import _request_ctx_stack\n", "use `request`, `session` and `g`"),
        ("from flask.globals import _cv_app\n", "find the Quart way"),
    ],
)
def test_flask_internals_stay_on_flask_and_are_reported(
    tmp_path: Path, source: str, advice: str
) -> None:
    text, findings = port_one(tmp_path, source)
    assert text == source
    [finding] = findings
    assert (finding.rule, finding.severity) == ("no-counterpart", "unportable")
    assert advice in finding.suggestion


def test_a_flask_internal_reached_through_the_module_is_reported(tmp_path: Path) -> None:
    _, findings = port_one(
        tmp_path,
        """\
        import flask


        def get_db():
            return flask._app_ctx_stack.top.db
        """,
    )
    [finding] = findings
    assert (finding.rule, finding.line, finding.column) == ("no-counterpart", 5, 12)
    assert "keep per-context data on `g`" in finding.suggestion
