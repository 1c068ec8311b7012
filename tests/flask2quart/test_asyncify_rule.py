from __future__ import annotations

from pathlib import Path

import pytest

from .porting import dedent, port_files, port_one, ported, rules

HOOK_DECORATORS = [
    '@app.route("/")',
    '@app.get("/")',
    '@app.post("/")',
    '@app.put("/")',
    '@app.delete("/")',
    '@app.patch("/")',
    "@app.errorhandler(404)",
    "@app.before_request",
    "@app.after_request",
    "@app.teardown_request",
    "@app.teardown_appcontext",
    "@app.context_processor",
    '@bp.route("/")',
    "@bp.app_errorhandler(500)",
    "@bp.before_app_request",
    "@bp.after_app_request",
    "@bp.teardown_app_request",
    "@bp.app_context_processor",
]


@pytest.mark.parametrize("decorator", HOOK_DECORATORS)
def test_views_and_hooks_become_async(tmp_path: Path, decorator: str) -> None:
    text, _ = port_one(
        tmp_path,
        f"""\
        from flask import Blueprint, Flask

        app = Flask(__name__)
        bp = Blueprint("bp", __name__)


        {decorator}
        def handler(*args):
            return "ok"
        """,
    )
    assert f'{decorator}\nasync def handler(*args):\n    return "ok"\n' in text


def test_blueprint_views_in_a_module_without_flask_imports(tmp_path: Path) -> None:
    result = port_files(
        tmp_path,
        {
            "site/__init__.py": "from flask import Blueprint\nbp = Blueprint('site', __name__)\n",
            "site/views.py": "from site import bp\n@bp.route('/')\ndef index():\n    pass\n",
        },
    )
    assert "async def index():" in ported(tmp_path, result, "site/views.py")


def test_functions_registered_by_call_become_async(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask import Flask


        def close_db(error=None):
            pass


        def page():
            return "page"


        def not_found(error):
            return "missing", 404


        def create_app():
            app = Flask(__name__)
            app.teardown_appcontext(close_db)
            app.add_url_rule("/", "page", page)
            app.register_error_handler(404, not_found)
            return app
        """,
    )
    assert "async def close_db(error=None):" in text
    assert "async def page():" in text
    assert "async def not_found(error):" in text
    assert "def create_app():" in text and "async def create_app" not in text


def test_method_views_get_async_http_methods(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask.views import MethodView


        class Items(MethodView):
            def get(self):
                return "items"

            def _helper(self):
                return 1
        """,
    )
    assert "    async def get(self):" in text
    assert "    def _helper(self):" in text


@pytest.mark.parametrize(
    "decorator",
    ["@app.url_defaults", "@app.url_value_preprocessor", '@app.template_filter("x")'],
)
def test_hooks_quart_calls_synchronously_stay_sync(tmp_path: Path, decorator: str) -> None:
    source = dedent(
        f"""\
        from quart import Quart

        app = Quart(__name__)


        {decorator}
        def hook(*args):
            return None
        """
    )
    text, _ = port_one(tmp_path, source)
    assert text == source


def test_wraps_decorator_around_views_awaits_the_view(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        import functools

        from flask import Flask, g, redirect

        app = Flask(__name__)


        def login_required(view):
            @functools.wraps(view)
            def wrapped_view(**kwargs):
                if g.user is None:
                    return redirect("/login")
                return view(**kwargs)  # the view itself

            return wrapped_view


        def roles(*names):
            def decorator(view):
                @functools.wraps(view)
                def wrapper(*args, **kwargs):
                    return view(*args, **kwargs)

                return wrapper

            return decorator


        @app.route("/")
        @login_required
        @roles("admin")
        def index():
            return "secret"
        """,
    )
    assert "    async def wrapped_view(**kwargs):" in text
    assert "return await view(**kwargs)  # the view itself" in text
    assert "        async def wrapper(*args, **kwargs):" in text
    assert "return await view(*args, **kwargs)" in text
    assert "def login_required(view):" in text and "async def login_required" not in text


def test_decorators_without_wraps_are_recognised_by_what_they_do(tmp_path: Path) -> None:
    text, findings = port_one(
        tmp_path,
        """\
        from flask import Flask, g, redirect, render_template

        app = Flask(__name__)


        def login_required(f):
            def decorated_function(*args, **kwargs):
                if g.user is None:
                    return redirect("/login")
                return f(*args, **kwargs)

            decorated_function.__name__ = f.__name__
            return decorated_function


        def templated(template):
            def decorator(f):
                def decorated_function(*args, **kwargs):
                    return render_template(template, **f(*args, **kwargs))

                decorated_function.__name__ = f.__name__
                return decorated_function

            return decorator


        @app.route("/")
        @login_required
        @templated("index.html")
        def index():
            return {"title": "Home"}
        """,
    )
    assert text.endswith(
        dedent(
            """\
            def login_required(f):
                async def decorated_function(*args, **kwargs):
                    if g.user is None:
                        return redirect("/login")
                    return await f(*args, **kwargs)

                decorated_function.__name__ = f.__name__
                return decorated_function


            def templated(template):
                def decorator(f):
                    async def decorated_function(*args, **kwargs):
                        return await render_template(template, **await f(*args, **kwargs))

                    decorated_function.__name__ = f.__name__
                    return decorated_function

                return decorator


            @app.route("/")
            @login_required
            @templated("index.html")
            async def index():
                return {"title": "Home"}
            """
        )
    )
    assert findings == []


def test_a_nested_function_the_outer_one_does_not_return_is_no_wrapper(tmp_path: Path) -> None:
    source = """\
        from flask import Flask

        app = Flask(__name__)


        def retry(f):
            def attempt(*args):
                return f(*args)

            return [attempt]


        @app.route("/")
        @retry
        def index():
            return "x"
        """
    text, _ = port_one(tmp_path, source)
    assert "    def attempt(*args):\n        return f(*args)\n" in text


def test_wraps_decorator_also_used_on_sync_functions_is_reported(tmp_path: Path) -> None:
    _, findings = port_one(
        tmp_path,
        """\
        from functools import wraps

        from flask import Flask

        app = Flask(__name__)


        def logged(view):
            @wraps(view)
            def wrapper():
                return view()

            return wrapper


        @app.route("/")
        @logged
        def index():
            return "x"


        @logged
        def plain():
            return 1
        """,
    )
    assert "mixed-decorator" in rules(findings)


def test_app_contexts_become_async_with(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask import Flask


        async def seed(app: Flask) -> None:
            with app.app_context():  # keep
                pass
            with app.test_request_context("/"):
                pass
        """,
    )
    assert "    async with app.app_context():  # keep\n" in text
    assert '    async with app.test_request_context("/"):\n' in text


def test_mixed_with_items_are_reported(tmp_path: Path) -> None:
    source = dedent(
        """\
        from flask import Flask


        async def seed(app: Flask) -> None:
            with app.app_context(), open("x") as f:
                pass
        """
    )
    text, findings = port_one(tmp_path, source)
    assert "with app.app_context(), open" in text and "async with" not in text
    assert "mixed-with" in rules(findings)


def test_generator_fixture_annotation_becomes_async_iterator(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from collections.abc import Generator, Iterator

        import pytest
        from flask import Flask


        @pytest.fixture
        def app() -> Iterator[Flask]:
            application = Flask(__name__)
            with application.app_context():
                yield application


        @pytest.fixture
        def other() -> Generator[Flask, None, None]:
            application = Flask(__name__)
            with application.app_context():
                yield application
        """,
        name="conftest.py",
    )
    assert "async def app() -> AsyncIterator[Quart]:" in text
    assert "async def other() -> AsyncGenerator[Quart, None]:" in text
    assert "from collections.abc import AsyncGenerator, AsyncIterator" in text or (
        "from collections.abc import AsyncIterator" in text
        and "from collections.abc import AsyncGenerator" in text
    )
