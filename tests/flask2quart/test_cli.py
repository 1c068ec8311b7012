from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flask2quart.cli import ERROR, UNPORTABLE, main

FLASK_APP = """\
from flask import Flask, render_template

app = Flask(__name__)


@app.route("/")
def index():
    return render_template("index.html")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(FLASK_APP, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not python", encoding="utf-8")
    return tmp_path


def test_diff_prints_a_unified_diff_and_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--diff", str(project)]) == 0
    out = capsys.readouterr().out
    assert f"--- a/{project.as_posix().lstrip('/')}/app.py" in out
    assert "\n-def index():\n" in out
    assert "\n+async def index():\n" in out
    assert "+    return await render_template" in out
    assert (project / "app.py").read_text(encoding="utf-8") == FLASK_APP


def test_check_exits_1_when_a_file_would_change(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--check", str(project)]) == 1
    assert "would port" in capsys.readouterr().err
    assert (project / "app.py").read_text(encoding="utf-8") == FLASK_APP


def test_writes_in_place_and_a_second_run_changes_nothing(project: Path) -> None:
    assert main([str(project)]) == 0
    once = (project / "app.py").read_text(encoding="utf-8")
    assert "async def index():" in once
    assert main(["--check", str(project)]) == 0
    assert main([str(project)]) == 0
    assert (project / "app.py").read_text(encoding="utf-8") == once


def test_line_endings_and_encoding_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_bytes(FLASK_APP.replace("\n", "\r\n").replace("index.html", "índex.html").encode())
    assert main([str(path)]) == 0
    written = path.read_bytes().decode("utf-8")
    assert "async def index():\r\n" in written
    assert "índex.html" in written


def test_json_report(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "ext.py").write_text("import flask_cors\n", encoding="utf-8")
    assert main(["--diff", "--report", "json", str(project)]) == UNPORTABLE
    [finding] = json.loads(capsys.readouterr().err)
    assert finding["rule"] == "extension"
    assert finding["path"].endswith("ext.py")


def test_files_that_do_not_parse_are_reported_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "old.py").write_text("print 'python 2'\n", encoding="utf-8")
    assert main([str(tmp_path)]) == ERROR
    assert "[syntax-error]" in capsys.readouterr().err
    assert (tmp_path / "old.py").read_text(encoding="utf-8") == "print 'python 2'\n"


def test_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing.txt")]) == 2
    assert "flask2quart:" in capsys.readouterr().err


def test_runs_as_a_module(project: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "flask2quart", "--check", str(project)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert completed.returncode == 1
    assert "would port" in completed.stderr
