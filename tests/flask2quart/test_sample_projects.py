"""The independent notebook project: its Flask suite passes, and so does the port of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flask2quart import port_paths
from flask2quart.cli import main

SAMPLE = Path(__file__).resolve().parent / "sample_projects" / "notebook"


def _pytest(project: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    copy = tmp_path / "notebook"
    shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_flask_suite_passes_under_flask(notebook: Path) -> None:
    # pytest-asyncio is not part of the Flask project, so its plugin is kept out.
    completed = _pytest(notebook, "-p", "no:asyncio")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert " passed" in completed.stdout


def test_the_ported_suite_passes_under_quart(notebook: Path) -> None:
    assert main(["--report", "none", str(notebook)]) == 0
    for source in (notebook / "notebook").glob("*.py"):
        assert "flask" not in source.read_text(encoding="utf-8").lower().replace(
            "flask2quart", ""
        ), source
    completed = _pytest(notebook, "-o", "asyncio_default_fixture_loop_scope=function")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "34 passed" in completed.stdout


def test_the_port_is_idempotent_and_reports_the_blocking_database(notebook: Path) -> None:
    first = port_paths([notebook])
    for path in first.changed_paths():
        path.write_text(first.ported[path], encoding="utf-8")
    second = port_paths([notebook])
    assert second.changed_paths() == []
    assert {finding.rule for finding in second.findings} == {"blocking-io", "session-vary"}
    blocking = [finding for finding in second.findings if finding.rule == "blocking-io"]
    assert all("sqlite3.connect()" in finding.message for finding in blocking)
