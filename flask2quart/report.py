"""What the port could not do by itself, as findings with a place and a suggestion."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "unportable", "advice"]

# A file the tool could not read or parse is not ported at all.
ERROR_RULES = frozenset({"syntax-error", "encoding"})
# The port works as written; these only point at what Quart does differently or slower.
ADVICE_RULES = frozenset({"blocking-io", "session-vary", "prefixed-env", "thread"})


@dataclass(frozen=True, order=True)
class Finding:
    """One thing left to the human, located in the ported file."""

    path: str
    line: int
    column: int
    rule: str
    message: str
    suggestion: str

    @property
    def severity(self) -> Severity:
        """`error` (the file was skipped), `unportable` (a hand edit is needed) or `advice`."""
        if self.rule in ERROR_RULES:
            return "error"
        if self.rule in ADVICE_RULES:
            return "advice"
        return "unportable"


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
    return (
        json.dumps(
            [
                {**asdict(finding), "severity": finding.severity}
                for finding in sorted(set(findings))
            ],
            indent=2,
        )
        + "\n"
    )
