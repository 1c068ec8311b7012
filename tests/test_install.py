"""`pip install .` gives working commands: the package, its site files and its scripts.

The package is built from a copy of this checkout into a wheel and installed into a new
virtual environment. Its dependencies are not downloaded again (the tests talk to 127.0.0.1
only): the new environment sees, through a path file, the installed copies of the
distributions the wheel declares (and theirs, and so on), and nothing else. A dependency the
package uses but does not declare is missing there, as on a user's machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from email.parser import Parser
from importlib import metadata
from pathlib import Path
from zipfile import ZipFile

import httpx
import pytest
from packaging.requirements import Requirement

from .support.live_server import PROJECT_ROOT, free_port, running, wait_until_listening

pytestmark = [pytest.mark.slow, pytest.mark.server]

_NOT_PACKAGED = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "instance"
)


def _requirements(wheel: Path) -> list[str]:
    """The Requires-Dist lines of a wheel's metadata."""
    with ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        headers = Parser().parsestr(archive.read(name).decode())
    return headers.get_all("Requires-Dist") or []


def _declared_closure(requirements: list[str]) -> Iterator[metadata.Distribution]:
    """The installed distributions these requirements need, with their own, recursively."""
    seen: set[str] = set()
    pending = [(Requirement(line), "") for line in requirements]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        distribution = metadata.distribution(requirement.name)
        key = distribution.metadata["Name"].lower()
        for wanted in requirement.extras:
            pending += [(Requirement(line), wanted) for line in distribution.requires or []]
        if key in seen:
            continue
        seen.add(key)
        yield distribution
        pending += [(Requirement(line), "") for line in distribution.requires or []]


def _expose(distributions: Iterator[metadata.Distribution], folder: Path) -> None:
    """Link each distribution's top-level modules and metadata into `folder`."""
    folder.mkdir()
    for distribution in distributions:
        tops = {Path(file).parts[0] for file in distribution.files or [] if file.parts[0] != ".."}
        for top in tops - {"__pycache__"}:
            source = Path(str(distribution.locate_file(top)))
            if source.exists() and not top.endswith(".pth"):
                (folder / top).symlink_to(source)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with this project installed from a wheel; its bin folder."""
    folder = tmp_path_factory.mktemp("install")
    source = folder / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=_NOT_PACKAGED)
    wheels = folder / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-w", str(wheels), str(source)], check=True, timeout=300)
    [wheel] = wheels.glob("quart_app-*.whl")
    environment = folder / "env"
    venv.create(environment, with_pip=True)
    paths = {"base": str(environment), "platbase": str(environment)}
    purelib = Path(sysconfig.get_path("purelib", vars=paths))
    _expose(_declared_closure(_requirements(wheel)), folder / "dependencies")
    (purelib / "dependencies.pth").write_text(f"{folder / 'dependencies'}\n")
    pip = [str(environment / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    subprocess.run([*pip, str(wheel)], check=True, timeout=300)
    return environment / "bin"


def run(command: list[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_commands_are_installed_and_answer_help(installed: Path) -> None:
    for command in (
        ["quart-app", "--help"],
        ["quart-app", "serve", "--help"],
        ["flask2quart", "--help"],
    ):
        result = run([str(installed / command[0]), *command[1:]], cwd=Path("/"))
        assert result.returncode == 0, result.stderr
        assert "usage" in result.stdout.lower()


def test_the_dev_tools_are_not_there(installed: Path) -> None:
    python = str(installed / "python")
    result = run([python, "-c", "import pytest"], cwd=Path("/"))
    assert "No module named 'pytest'" in result.stderr, "only declared dependencies are seen"


def test_flask2quart_ports_a_file_where_it_is_installed(installed: Path, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        "from flask import Flask, request\n\napp = Flask(__name__)\n\n\n"
        "@app.post('/')\ndef index():\n    return request.form['name']\n"
    )
    result = run([str(installed / "flask2quart"), str(app)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ported = app.read_text()
    assert "from quart import Quart, request" in ported
    assert "async def index" in ported and "await request.form" in ported


def test_the_installed_site_serves_its_pages_and_assets(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QUART_", "PYTHON"))},
        "QUART_SECRET_KEY": "installed-test-secret",
    }
    command = [str(installed / "quart-app"), "serve", "--bind", f"127.0.0.1:{port}"]
    output = tmp_path / "output.log"
    with output.open("wb") as log, running(command, environment, log, cwd=tmp_path) as server:
        wait_until_listening(port, server)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            answers = [http.get(path) for path in ("/", "/static/styles/site.css", "/login")]
            health = http.get("/healthz")
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert "Hello World" in answers[0].text
    assert health.json()["status"] == "ok"
    logged = output.read_text()
    assert "Seeded 3 demo users" in logged, "the packaged logging configuration is used"
    data = installed.parent / "var" / "quart_app"
    assert (data / "instance" / "quart_app.sqlite3").is_file(), "the database lives under var/"
    assert not (tmp_path / "uploads").exists(), "nothing is written where the server was started"
