"""The ``quart-app`` command: ``quart-app serve`` runs the site under Hypercorn."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from hypercorn.config import Config

from .server import configure_logging, main_serve

PACKAGED_LOGCONFIG: Final = Path(__file__).with_name("logging.toml")
_LOGCONFIG_FORMATS: Final = ("json:", "toml:")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quart-app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the site with Hypercorn workers and a graceful shutdown",
        description="Serve quart_app.asgi:app. Options override the configuration file.",
    )
    serve.add_argument("--config", type=Path, help="a Hypercorn TOML file (hypercorn.toml)")
    serve.add_argument(
        "--bind", action="append", metavar="HOST:PORT", help="address to listen on; repeatable"
    )
    serve.add_argument("--workers", type=int, help="number of worker processes")
    serve.add_argument("--graceful-timeout", type=float, help="seconds to finish requests")
    serve.add_argument("--certfile", help="TLS certificate (enables HTTPS and HTTP/2)")
    serve.add_argument("--keyfile", help="TLS private key")
    serve.add_argument(
        "--access-logfile",
        metavar="PATH",
        help="where to log requests: - for stdout, '' for nowhere",
    )
    return parser


def config_from(arguments: argparse.Namespace) -> Config:
    """The Hypercorn configuration: the file's settings, then the command line's."""
    config = Config.from_toml(arguments.config) if arguments.config else Config()
    if arguments.bind:
        config.bind = arguments.bind
    for option in ("workers", "graceful_timeout", "certfile", "keyfile"):
        value = getattr(arguments, option)
        if value is not None:
            setattr(config, option, value)
    if arguments.access_logfile is not None:
        config.accesslog = arguments.access_logfile or None
    if config.logconfig is None and config.logconfig_dict is None:
        config.logconfig = f"toml:{PACKAGED_LOGCONFIG}"
    elif config.logconfig is not None and arguments.config is not None:
        config.logconfig = _relative_to(arguments.config.parent, config.logconfig)
    return config


def _relative_to(folder: Path, logconfig: str) -> str:
    """A logconfig path of a configuration file, read from the file's folder (not the cwd)."""
    prefix = next((p for p in _LOGCONFIG_FORMATS if logconfig.startswith(p)), "")
    return f"{prefix}{folder / logconfig.removeprefix(prefix)}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``quart-app`` console script."""
    config = config_from(_parser().parse_args(argv))
    configure_logging(config)
    return main_serve(config)
