"""quart_app: the "Python Flask" tutorial's site on Quart, served by Hypercorn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask.templating import (
    _default_template_ctx_processor as flask_default_context_processor,
)
from quart import Quart

from . import db, upload_settings
from .access import load_signed_in_user
from .application import QuartApp
from .blueprints import api, api_docs, auth, health, pages, stores, tus, uploads, users
from .config import SITE_FILES, development_defaults_in_use, load_settings
from .errors import register_error_handlers
from .security import TLSAwareSessionInterface, csrf_token, set_security_headers, signed_in_user
from .template_filters import TEMPLATE_FILTERS


def create_app(config: Mapping[str, Any] | None = None) -> Quart:
    """Build the app: defaults, then QUART_* environment variables, then `config`.

    Raises SettingsError, naming the setting and what it expects, if one has a wrong value.
    """
    app = QuartApp(
        __name__,
        template_folder=str(SITE_FILES / "templates"),
        static_folder=str(SITE_FILES / "static"),
    )
    # The tutorial's profile.html writes statements as lines starting with "#".
    app.jinja_options = {
        **app.jinja_options,
        "line_statement_prefix": "#",
        "line_comment_prefix": "##",
    }
    load_settings(app.config, config)
    app.session_interface = TLSAwareSessionInterface()

    if app.config["WARN_DEVELOPMENT_DEFAULTS"]:
        for setting in development_defaults_in_use(app.config):
            app.logger.warning(
                "%s is the development default; set QUART_%s before serving real users.",
                setting,
                setting,
            )

    db.init_app(app)
    upload_settings.init_app(app)
    register_error_handlers(app)
    app.before_request(load_signed_in_user)
    app.after_request(set_security_headers)
    app.context_processor(_template_globals)
    for name, template_filter in TEMPLATE_FILTERS.items():
        app.add_template_filter(template_filter, name)

    blueprints = (pages, users, stores, auth, api, api_docs, uploads, tus, health)
    for blueprint in (module.bp for module in blueprints):
        app.register_blueprint(blueprint)
    _drop_flasks_context_processor(app)
    return app


def _drop_flasks_context_processor(app: Quart) -> None:
    """Remove the sync context processor every Quart blueprint inherits from Flask's Scaffold.

    It reads Flask's context variables, which Quart never sets, so it adds nothing; but being
    sync, Quart runs it in a worker thread on every page a blueprint renders.
    """
    for processors in app.template_context_processors.values():
        processors[:] = [p for p in processors if p is not flask_default_context_processor]


async def _template_globals() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "signed_in_user": signed_in_user()}
