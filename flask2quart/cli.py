"""The `flask2quart` command: port files in place, or show or check what would change."""

from __future__ import annotations

import argparse
import difflib
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from flask2quart.progress import ProgressLine
from flask2quart.report import format_json, format_text
from flask2quart.transform import PortResult, port_paths

# Exit status: the sum of these (0 when none applies), so each outcome can be tested alone.
WOULD_CHANGE = 1
ERROR = 2
UNPORTABLE = 4


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
        help="change nothing; add 1 to the exit status if any file would change",
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
    """Run the command; returns the exit status (see `WOULD_CHANGE`, `ERROR`, `UNPORTABLE`)."""
    options = build_parser().parse_args(argv)
    # A JSON report is read by programs: nothing else goes in its way on stderr.
    chatty = options.report != "json"
    progress = ProgressLine(sys.stderr) if chatty else None
    try:
        result = port_paths(options.paths, asyncio_mode=options.asyncio_mode, progress=progress)
    except FileNotFoundError as error:
        print(f"flask2quart: {error}", file=sys.stderr)
        return ERROR
    except Exception:
        # A bug in a rule: say so, with the trace, under the error status rather than the 1
        # Python exits with, which would read as "files would change".
        traceback.print_exc()
        print("flask2quart: internal error; no file was written", file=sys.stderr)
        return ERROR
    changed = result.changed_paths()
    if options.diff:
        sys.stdout.write(unified_diff(result))
    if options.check and chatty:
        for path in changed:
            print(f"would port {path}", file=sys.stderr)
    if not (options.diff or options.check):
        for path in changed:
            path.write_bytes(result.encoded(path))
            if chatty:
                print(f"ported {path}", file=sys.stderr)
    _print_report(result, options.report, sys.stderr)
    if progress is not None and progress.printed:
        print(
            f"flask2quart: {len(result.original)} files, {len(changed)} changed, "
            f"{result.rounds} rounds",
            file=sys.stderr,
        )
    return exit_status(result, check=options.check)


def exit_status(result: PortResult, *, check: bool) -> int:
    """What the run found, as the sum of the exit status flags."""
    severities = {finding.severity for finding in result.findings}
    status = ERROR if "error" in severities else 0
    if "unportable" in severities:
        status += UNPORTABLE
    if check and result.changed_paths():
        status += WOULD_CHANGE
    return status


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
