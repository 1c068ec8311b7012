"""Independent Flask projects: each suite passes under Flask, and ported, under Quart.

Each project is ported once (a module-scoped copy); its suite runs in a subprocess, with the
configuration the port left in the project and no hand edit.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from flask2quart import port_paths
from flask2quart.cli import main

SAMPLES = Path(__file__).resolve().parent / "sample_projects"
# What each port leaves to the human: advice only, so the command exits 0. quill's blocking-io
# findings come from `from sqlite3 import dbapi2 as sqlite3`.
EXPECTED_FINDINGS = {
    "notebook": {"blocking-io", "session-vary"},
    "quill": {"blocking-io", "session-vary"},
    # Its views reach the file store through `g`, where the blocking check cannot follow.
    "taskboard": set(),
    "chirp": {"blocking-io", "session-vary"},
}
_FLASK_IMPORT = re.compile(r"^\s*(from|import) flask\b", re.MULTILINE)


def _pytest(project: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _copy(name: str, destination: Path) -> Path:
    copy = destination / name
    shutil.copytree(SAMPLES / name, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _passed(completed: subprocess.CompletedProcess[str]) -> int:
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert not re.search(r"\b(failed|error|errors|skipped|xfailed)\b", completed.stdout), output
    match = re.search(r"(\d+) passed", completed.stdout)
    assert match is not None, output
    return int(match.group(1))


@pytest.fixture(scope="module")
def port_once(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Ports a copy of a sample project with the command, once per module."""
    ported: dict[str, Path] = {}

    def port(name: str) -> Path:
        if name not in ported:
            copy = _copy(name, tmp_path_factory.mktemp("ported"))
            assert main(["--report", "none", str(copy)]) == 0
            ported[name] = copy
        return ported[name]

    return port


@pytest.fixture(params=sorted(EXPECTED_FINDINGS))
def ported(request: pytest.FixtureRequest, port_once: Callable[[str], Path]) -> Path:
    return port_once(request.param)


@pytest.fixture
def quill(port_once: Callable[[str], Path]) -> Path:
    return port_once("quill")


def test_the_suite_passes_under_flask_and_ported_under_quart(ported: Path, tmp_path: Path) -> None:
    # pytest-asyncio is not part of the Flask projects, so its plugin is kept out.
    under_flask = _passed(_pytest(_copy(ported.name, tmp_path), "-p", "no:asyncio"))
    for source in ported.rglob("*.py"):
        assert not _FLASK_IMPORT.search(source.read_bytes().decode("latin-1")), source

    assert _passed(_pytest(ported)) == under_flask > 0


def test_a_second_port_changes_nothing_and_reports_only_advice(ported: Path) -> None:
    again = port_paths([ported])

    assert again.changed_paths() == []
    assert {finding.rule for finding in again.findings} == EXPECTED_FINDINGS[ported.name]
    assert {finding.severity for finding in again.findings} <= {"advice"}


def test_quill_keeps_its_latin_1_page_and_its_bom(quill: Path) -> None:
    page = (quill / "quill" / "pages.py").read_bytes()
    assert page.startswith(b"# -*- coding: latin-1 -*-\n")
    assert "\u00dcber Quill".encode("latin-1") in page
    assert b"async def about():" in page
    errors = (quill / "quill" / "errors.py").read_bytes()
    assert errors.startswith(b"\xef\xbb\xbf")
    assert b"async def page_not_found(error):" in errors
