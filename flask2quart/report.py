"""What the port could not do by itself, as findings with a place and a suggestion."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Finding:
    """One thing left to the human, located in the ported file."""

    path: str
    line: int
    column: int
    rule: str
    message: str
    suggestion: str


def format_text(findings: Iterable[Finding]) -> str:
    """Render findings as `path:line:col: [rule] message` lines with indented suggestions."""
    lines: list[str] = []
    for finding in sorted(set(findings)):
        lines.append(
            f"{finding.path}:{finding.line}:{finding.column}: [{finding.rule}] {finding.message}"
        )
        lines.append(f"    suggestion: {finding.suggestion}")
    return "\n".join(lines) + ("\n" if lines else "")


def format_json(findings: Iterable[Finding]) -> str:
    """Render findings as a JSON array of objects."""
    return json.dumps([asdict(finding) for finding in sorted(set(findings))], indent=2) + "\n"
