"""Helpers for the rule tests: port snippets written to a temporary project."""

from __future__ import annotations

import textwrap
from pathlib import Path

from flask2quart import Finding, PortResult, port_paths
from flask2quart.sources import AsyncioMode


def port_files(
    root: Path, files: dict[str, str], *, asyncio_mode: AsyncioMode = "auto"
) -> PortResult:
    """Write dedented files under root and port them together."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return port_paths([root], asyncio_mode=asyncio_mode)


def ported(root: Path, result: PortResult, name: str) -> str:
    """The ported text of one of the files."""
    return result.ported[root / name]


def port_one(
    root: Path, source: str, *, name: str = "app.py", asyncio_mode: AsyncioMode = "auto"
) -> tuple[str, list[Finding]]:
    """Port a single file and return its text and the findings."""
    result = port_files(root, {name: source}, asyncio_mode=asyncio_mode)
    return ported(root, result, name), result.findings


def dedent(text: str) -> str:
    """Dedent a before/after snippet."""
    return textwrap.dedent(text)


def rules(findings: list[Finding]) -> list[str]:
    """The rule of each finding, in report order."""
    return [finding.rule for finding in sorted(findings)]
