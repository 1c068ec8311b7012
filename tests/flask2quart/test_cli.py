from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from flask2quart.cli import ERROR, UNPORTABLE, WOULD_CHANGE, main
from flask2quart.progress import ProgressLine
from flask2quart.sources import python_files

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


@pytest.mark.parametrize("mode", [["--diff"], ["--check"], []])
def test_json_report_is_all_that_goes_to_stderr(
    project: Path, capsys: pytest.CaptureFixture[str], mode: list[str]
) -> None:
    (project / "ext.py").write_text("import flask_cors\n", encoding="utf-8")
    would_change = WOULD_CHANGE if mode == ["--check"] else 0
    assert main([*mode, "--report", "json", str(project)]) == UNPORTABLE + would_change
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


def test_a_latin_1_file_is_ported_and_written_back_in_latin_1(tmp_path: Path) -> None:
    path = tmp_path / "pages.py"
    source = FLASK_APP.replace("index.html", "über.html")
    path.write_bytes(f"# -*- coding: latin-1 -*-\n{source}".encode("latin-1"))
    assert main([str(tmp_path)]) == 0
    written = path.read_bytes()
    assert b'render_template("\xfcber.html")' in written
    assert written.decode("latin-1").startswith("# -*- coding: latin-1 -*-\nfrom quart import")


def test_a_utf_8_bom_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_bytes(b"\xef\xbb\xbf" + FLASK_APP.encode())
    assert main([str(path)]) == 0
    written = path.read_bytes()
    assert written.startswith(b"\xef\xbb\xbffrom quart import")
    assert written.count(b"\xef\xbb\xbf") == 1


def test_a_file_that_does_not_decode_is_an_error_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.py").write_text(FLASK_APP, encoding="utf-8")
    broken = tmp_path / "legacy.py"
    broken.write_bytes(b"NAME = '\xfcber'\n")
    assert main([str(tmp_path)]) == ERROR
    assert f"{broken}:1:1: [encoding]" in capsys.readouterr().err
    assert broken.read_bytes() == b"NAME = '\xfcber'\n"
    assert "async def index" in (tmp_path / "app.py").read_text(encoding="utf-8")


def test_a_syntax_error_is_located_where_python_locates_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.py").write_text("import flask\n\ndef f(:\n    pass\n", encoding="utf-8")
    assert main([str(tmp_path)]) == ERROR
    assert f"{tmp_path / 'bad.py'}:3:7: [syntax-error]" in capsys.readouterr().err


def test_a_symlink_loop_lists_each_file_once(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(FLASK_APP, encoding="utf-8")
    (tmp_path / "again").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "alias.py").symlink_to(tmp_path / "app.py")
    assert python_files([tmp_path, tmp_path / "app.py"]) == [tmp_path / "app.py"]


def test_exit_status_flags_add_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "app.py").write_text(FLASK_APP, encoding="utf-8")
    assert main(["--check", str(tmp_path)]) == WOULD_CHANGE
    (tmp_path / "ext.py").write_text("import flask_cors\n", encoding="utf-8")
    assert main(["--check", str(tmp_path)]) == WOULD_CHANGE + UNPORTABLE
    (tmp_path / "old.py").write_text("print 'python 2'\n", encoding="utf-8")
    assert main(["--check", str(tmp_path)]) == WOULD_CHANGE + ERROR + UNPORTABLE
    assert main([str(tmp_path)]) == ERROR + UNPORTABLE
    capsys.readouterr()


def test_advice_alone_exits_0(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        FLASK_APP + '\n\n@app.route("/nap")\ndef nap():\n    time.sleep(1)\n    return ""\n',
        encoding="utf-8",
    )
    assert main(["--report", "none", str(tmp_path)]) == 0


def test_progress_is_shown_once_a_port_runs_long(tmp_path: Path) -> None:
    now = [0.0]
    stream = io.StringIO()
    progress = ProgressLine(stream, delay=1.0, interval=2.0, clock=lambda: now[0])
    for moment in (0.5, 1.0, 2.0, 3.5):
        now[0] = moment
        progress(1, int(moment * 2), 7)
    assert stream.getvalue() == (
        "flask2quart: round 1: 2/7 files\nflask2quart: round 1: 7/7 files\n"
    )
    assert progress.printed


def test_a_crash_inside_the_tool_is_an_error_not_a_change(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken_rule(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a rule broke")

    monkeypatch.setattr("flask2quart.transform.asyncify.on_call", broken_rule)
    assert main(["--check", str(project)]) == ERROR
    err = capsys.readouterr().err
    assert "RuntimeError: a rule broke" in err
    assert "internal error; no file was written" in err
    assert (project / "app.py").read_text(encoding="utf-8") == FLASK_APP
