"""Tables of Flask and Quart names that the rewrite rules consult."""

from __future__ import annotations

from typing import Final

FRAMEWORKS: Final = ("flask", "quart")

# Submodules that exist under both packages with the same public names (checked by the tests
# against the installed Quart).
SHARED_SUBMODULES: Final = frozenset(
    {
        "app",
        "blueprints",
        "cli",
        "config",
        "ctx",
        "globals",
        "helpers",
        "json",
        "json.provider",
        "json.tag",
        "logging",
        "sessions",
        "signals",
        "templating",
        "testing",
        "typing",
        "views",
        "wrappers",
    }
)

# Names that Quart spells differently, keyed by their Flask (or Werkzeug) home.
RENAMED: Final[dict[str, str]] = {
    "flask.Flask": "quart.Quart",
    "flask.app.Flask": "quart.app.Quart",
    "flask.testing.FlaskClient": "quart.testing.QuartClient",
    "flask.testing.FlaskCliRunner": "quart.testing.QuartCliRunner",
    "flask.cli.FlaskGroup": "quart.cli.QuartGroup",
    "flask.app.get_load_dotenv": "quart.helpers.get_load_dotenv",
    "werkzeug.datastructures.FileStorage": "quart.datastructures.FileStorage",
    "werkzeug.FileStorage": "quart.datastructures.FileStorage",
}

# Public Flask names with no Quart counterpart: imports of these stay on Flask and are reported.
NO_COUNTERPART: Final = frozenset(
    {
        "flask.sansio",
        "flask.debughelpers",
        "flask.app.SessionInterface",
        "flask.cli.CertParamType",
        "flask.cli.SeparatedPathType",
        "flask.cli.show_server_banner",
        "flask.sessions.TaggedJSONSerializer",
        "flask.testing.EnvironBuilder",
        "flask.testing.SessionMixin",
        "flask.typing.ResponseClass",
    }
)

# What `from flask import *` binds, less the submodules it drags along (checked by the tests
# against the installed Flask).
FLASK_STAR_NAMES: Final = frozenset(
    {
        "Blueprint",
        "Config",
        "Flask",
        "Request",
        "Response",
        "abort",
        "after_this_request",
        "appcontext_popped",
        "appcontext_pushed",
        "appcontext_tearing_down",
        "before_render_template",
        "copy_current_request_context",
        "current_app",
        "flash",
        "g",
        "get_flashed_messages",
        "get_template_attribute",
        "got_request_exception",
        "has_app_context",
        "has_request_context",
        "json",
        "jsonify",
        "make_response",
        "message_flashed",
        "redirect",
        "render_template",
        "render_template_string",
        "request",
        "request_finished",
        "request_started",
        "request_tearing_down",
        "send_file",
        "send_from_directory",
        "session",
        "stream_template",
        "stream_template_string",
        "stream_with_context",
        "template_rendered",
        "url_for",
    }
)

# What to do instead of Flask's private names that old code reached for.
PRIVATE_NAME_ADVICE: Final[dict[str, str]] = {
    "_app_ctx_stack": "Flask 2.3 removed the context stacks and Quart never had them: keep "
    "per-context data on `g` (`g.db` for `_app_ctx_stack.top.db`)",
    "_request_ctx_stack": "Flask 2.3 removed the context stacks and Quart never had them: use "
    "`request`, `session` and `g` directly",
}

# Attributes of `request` that Quart turns into awaitables (properties or methods).
REQUEST_AWAITABLE_ATTRIBUTES: Final = frozenset({"form", "files", "values", "data", "json"})
REQUEST_AWAITABLE_METHODS: Final = frozenset({"get_json", "get_data"})

# Module-level helpers that are coroutine functions in Quart.
AWAITABLE_HELPERS: Final = frozenset(
    {
        "render_template",
        "render_template_string",
        "stream_template",
        "stream_template_string",
        "make_response",
        "send_file",
        "send_from_directory",
        "flash",
    }
)
# Methods of `current_app` that are coroutine functions in Quart.
AWAITABLE_APP_METHODS: Final = frozenset({"make_response", "send_static_file"})

# Flask's `send_file` parameters in order, and the keywords Quart spells differently.
FLASK_SEND_FILE_POSITIONS: Final = (
    "path_or_file",
    "mimetype",
    "as_attachment",
    "download_name",
    "conditional",
    "etag",
    "last_modified",
    "max_age",
)
SEND_FILE_KEYWORDS: Final[dict[str, str]] = {
    "download_name": "attachment_filename",
    "max_age": "cache_timeout",
    "etag": "add_etags",
}
# Open files Flask's `send_file` streams and Quart's (paths and `io.BytesIO` only) does not.
SEND_FILE_STREAM_CALLS: Final = frozenset(
    {
        "builtins.open",
        "io.open",
        "io.FileIO",
        "io.BufferedReader",
        "tempfile.TemporaryFile",
        "tempfile.NamedTemporaryFile",
        "tempfile.SpooledTemporaryFile",
    }
)

# Decorator (or registration method) names whose functions Quart calls as views or hooks.
HOOK_METHODS: Final = frozenset(
    {
        "route",
        "get",
        "post",
        "put",
        "delete",
        "patch",
        "endpoint",
        "errorhandler",
        "app_errorhandler",
        "before_request",
        "before_app_request",
        "after_request",
        "after_app_request",
        "teardown_request",
        "teardown_app_request",
        "teardown_appcontext",
        "context_processor",
        "app_context_processor",
        "before_serving",
        "after_serving",
    }
)
# Registration methods whose function argument comes at a fixed position or keyword.
HOOK_REGISTRATION_ARGUMENT: Final[dict[str, tuple[int, str]]] = {
    "add_url_rule": (2, "view_func"),
    "register_error_handler": (1, "f"),
}
METHOD_VIEW_METHODS: Final = frozenset(
    {"get", "post", "put", "delete", "patch", "head", "options", "dispatch_request"}
)
FIRST_REQUEST_HOOKS: Final = frozenset({"before_first_request", "before_app_first_request"})

# Decorators whose functions Quart (or Jinja, click, Python) calls synchronously.
SYNC_ONLY_DECORATORS: Final = frozenset(
    {
        "property",
        "cached_property",
        "setter",
        "getter",
        "deleter",
        "template_filter",
        "template_global",
        "template_test",
        "app_template_filter",
        "app_template_global",
        "app_template_test",
        "url_defaults",
        "url_value_preprocessor",
        "app_url_defaults",
        "app_url_value_preprocessor",
        "shell_context_processor",
        "command",
        "group",
        "with_appcontext",
        "contextmanager",
        "validates",
    }
)

# Flask's signals (Quart sends the same ones, from inside the request it is handling).
SIGNALS: Final = frozenset(
    {
        "template_rendered",
        "before_render_template",
        "request_started",
        "request_finished",
        "request_tearing_down",
        "got_request_exception",
        "appcontext_tearing_down",
        "appcontext_pushed",
        "appcontext_popped",
        "message_flashed",
    }
)

# Test client methods that send a request.
CLIENT_REQUEST_METHODS: Final = frozenset(
    {"get", "post", "put", "delete", "patch", "head", "options", "trace", "open"}
)
# Methods that make the objects the rules follow: test clients, CLI runners, contexts.
FACTORY_METHOD_KINDS: Final[dict[str, str]] = {
    "test_client": "client",
    "test_cli_runner": "runner",
    "app_context": "context",
    "test_request_context": "context",
}
# Base classes of unittest suites; async test methods need IsolatedAsyncioTestCase.
UNITTEST_SYNC_CASES: Final = frozenset({"unittest.TestCase", "unittest.case.TestCase"})
UNITTEST_CASES: Final = UNITTEST_SYNC_CASES | {
    "unittest.IsolatedAsyncioTestCase",
    "unittest.async_case.IsolatedAsyncioTestCase",
}
# unittest's class and module fixtures have no async counterparts.
UNITTEST_CLASS_HOOKS: Final = frozenset(
    {"setUpClass", "tearDownClass", "setUpModule", "tearDownModule"}
)
# Per-test fixtures and the async ones IsolatedAsyncioTestCase calls after (or before) them.
UNITTEST_ASYNC_FIXTURES: Final[dict[str, str]] = {
    "setUp": "asyncSetUp",
    "tearDown": "asyncTearDown",
}
# Context managers that Quart only offers as `async with`.
ASYNC_CONTEXT_METHODS: Final = frozenset(
    {"app_context", "test_request_context", "session_transaction", "test_client", "test_app"}
)
# Keyword arguments of Flask's test client that Quart's does not take.
FLASK_ONLY_CLIENT_ARGUMENTS: Final[dict[str, str]] = {
    "base_url": "put the host in `headers={'Host': ...}` or use `subdomain=`",
    "environ_base": "Quart has no WSGI environ; pass `headers=` or `scope_base=`",
    "environ_overrides": "Quart has no WSGI environ; pass `headers=` or `scope_base=`",
    "buffered": "Quart's test client always buffers the response",
    "input_stream": "pass the body as `data=` bytes",
    "mimetype": "pass `headers={'Content-Type': ...}`",
}
RESPONSE_AWAITABLE_ATTRIBUTES: Final = frozenset({"data", "json"})
RESPONSE_AWAITABLE_METHODS: Final = frozenset({"get_data", "get_json"})
FLASK_ONLY_RESPONSE_ATTRIBUTES: Final = frozenset({"request", "history"})

# Calls whose argument is a coroutine object on purpose, so it must not be awaited.
COROUTINE_CONSUMERS: Final = frozenset(
    {
        "asyncio.run",
        "asyncio.create_task",
        "asyncio.ensure_future",
        "asyncio.gather",
        "asyncio.wait_for",
        "asyncio.shield",
        "asyncio.run_coroutine_threadsafe",
        "asyncio.timeout",
    }
)
COROUTINE_CONSUMER_METHODS: Final = frozenset(
    {"add_background_task", "create_task", "run_until_complete", "start_soon"}
)

# Calls that block the event loop when made from an async view.
BLOCKING_CALLS: Final = frozenset(
    {
        "builtins.open",
        "builtins.input",
        "time.sleep",
        "sqlite3.connect",
        "urllib.request.urlopen",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "os.system",
        "shutil.copy",
        "shutil.copyfile",
        "shutil.copyfileobj",
        "shutil.move",
        "shutil.rmtree",
        "socket.create_connection",
        "smtplib.SMTP",
        "smtplib.SMTP_SSL",
        "psycopg2.connect",
        "pymysql.connect",
        "MySQLdb.connect",
    }
)
BLOCKING_MODULES: Final = frozenset({"requests", "urllib3"})
# Other spellings of those modules (`from sqlite3 import dbapi2 as sqlite3`, as Flask's old
# tutorial wrote it).
BLOCKING_MODULE_ALIASES: Final[dict[str, str]] = {
    "sqlite3.dbapi2": "sqlite3",
    "pysqlite2.dbapi2": "sqlite3",
}
THREAD_CALLS: Final = frozenset(
    {
        "threading.Thread",
        "threading.Timer",
        "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.ProcessPoolExecutor",
        "multiprocessing.Process",
        "multiprocessing.Pool",
    }
)

# Flask's `app.run` options and what to use with Quart/Hypercorn instead.
QUART_RUN_ARGUMENTS: Final = frozenset(
    {"host", "port", "debug", "use_reloader", "loop", "ca_certs", "certfile", "keyfile"}
)
FLASK_RUN_ARGUMENTS: Final[dict[str, str]] = {
    "threaded": "Hypercorn serves requests concurrently on one event loop; scale with "
    "`hypercorn --workers N module:app`",
    "processes": "use `hypercorn --workers N module:app`",
    "ssl_context": "pass `certfile=` and `keyfile=` to `app.run`, or "
    "`hypercorn --certfile ... --keyfile ...`",
    "load_dotenv": "`quart run` loads .env and .quartenv itself; drop the argument",
    "use_debugger": "use `debug=True` (Quart has no Werkzeug debugger)",
    "use_evalex": "Quart has no Werkzeug debugger; drop the argument",
    "extra_files": "use `hypercorn --reload` (watches the loaded modules)",
    "exclude_patterns": "use `hypercorn --reload`",
    "reloader_type": "use `hypercorn --reload`",
    "reloader_interval": "use `hypercorn --reload`",
    "passthrough_errors": "Quart has no equivalent; drop the argument",
    "request_handler": "configure Hypercorn instead (`hypercorn --config`)",
    "static_files": "serve static files through `static_folder` or a front proxy",
}

# Flask extensions, with the Quart counterpart where one exists.
EXTENSION_COUNTERPARTS: Final[dict[str, str]] = {
    "flask_cors": "quart-cors (`from quart_cors import cors`)",
    "flask_login": "quart-auth (`QuartAuth`, `login_user`, `login_required`; a different API)",
    "flask_limiter": "quart-rate-limiter (`RateLimiter`, `rate_limit`)",
    "flask_wtf": "quart-wtforms (`QuartForm`)",
    "flask_babel": "quart-babel",
    "flask_session": "quart-session",
    "flask_sqlalchemy": "quart-sqlalchemy, or SQLAlchemy's asyncio extension used directly",
    "flask_compress": "quart-compress",
    "flask_socketio": "Quart's built-in `@app.websocket` routes",
    "flask_sock": "Quart's built-in `@app.websocket` routes",
    "flask_pymongo": "quart-motor",
    "flask_redis": "quart-redis",
    "flask_bcrypt": "quart-bcrypt",
    "flask_jwt_extended": "quart-jwt-extended",
    "flask_restx": "quart-schema",
    "flask_smorest": "quart-schema",
    "flask_pydantic": "quart-schema",
    "flask_assets": "quart-assets",
}
EXTENSION_FALLBACK: Final = (
    "no Quart counterpart is known; look for an async alternative, or try quart-flask-patch"
)

TEST_FILE_PREFIX: Final = "test_"
TEST_FILE_SUFFIX: Final = "_test.py"
CONFTEST: Final = "conftest.py"
