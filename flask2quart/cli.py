"""The `flask2quart` command: port files in place, or show or check what would change."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from flask2quart.report import format_json, format_text
from flask2quart.transform import PortResult, port_paths


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    parser = argparse.ArgumentParser(
        prog="flask2quart",
        description="Port a Flask application and its pytest suite to Quart. Files are "
        "rewritten in place unless --diff or --check is given; what cannot be ported is "
        "reported on stderr with file:line and a suggestion.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="files or directories to port")
    parser.add_argument(
        "--diff", action="store_true", help="print a unified diff and change nothing"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 if any file would change",
    )
    parser.add_argument(
        "--report",
        choices=("text", "json", "none"),
        default="text",
        help="how to print what is left to the human (default: text, on stderr)",
    )
    parser.add_argument(
        "--asyncio-mode",
        choices=("auto", "strict"),
        default=None,
        help="pytest-asyncio mode the ported tests will run under (default: read from the "
        "nearest pytest configuration, else strict, which adds marks to async tests)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    options = build_parser().parse_args(argv)
    try:
        result = port_paths(options.paths, asyncio_mode=options.asyncio_mode)
    except FileNotFoundError as error:
        print(f"flask2quart: {error}", file=sys.stderr)
        return 2
    changed = result.changed_paths()
    if options.diff:
        sys.stdout.write(unified_diff(result))
    if options.check:
        for path in changed:
            print(f"would port {path}", file=sys.stderr)
    if not (options.diff or options.check):
        for path in changed:
            path.write_bytes(result.ported[path].encode("utf-8"))
            print(f"ported {path}", file=sys.stderr)
    _print_report(result, options.report, sys.stderr)
    return 1 if options.check and changed else 0


def unified_diff(result: PortResult) -> str:
    """A `git apply`-able diff of every changed file."""
    chunks: list[str] = []
    for path in result.changed_paths():
        name = path.as_posix().lstrip("/")
        chunks.extend(
            difflib.unified_diff(
                result.original[path].splitlines(keepends=True),
                result.ported[path].splitlines(keepends=True),
                fromfile=f"a/{name}",
                tofile=f"b/{name}",
            )
        )
    return "".join(chunks)


def _print_report(result: PortResult, style: str, stream: TextIO) -> None:
    if style == "json":
        stream.write(format_json(result.findings))
    elif style == "text" and result.findings:
        stream.write(format_text(result.findings))
