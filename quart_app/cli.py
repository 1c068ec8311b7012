"""The ``quart-app`` command: ``quart-app serve`` runs the site under Hypercorn."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from hypercorn.config import Config

from .server import main_serve


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
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``quart-app`` console script."""
    arguments = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] [%(process)d] %(message)s")
    return main_serve(config_from(arguments))
