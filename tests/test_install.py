"""`pip install .` gives working commands: the package, its site files and its scripts.

The package is built from this checkout into a wheel and installed into a new virtual
environment. Its dependencies are not downloaded again (the tests talk to 127.0.0.1 only):
the new environment sees this environment's packages through a path file, but not this
checkout, which the editable install would otherwise put first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import httpx
import pytest

from .support.live_server import PROJECT_ROOT, free_port

pytestmark = [pytest.mark.slow, pytest.mark.server]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with this project installed from a wheel; its bin folder."""
    folder = tmp_path_factory.mktemp("install")
    wheels = folder / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-w", str(wheels), str(PROJECT_ROOT)], check=True, timeout=300)
    environment = folder / "env"
    venv.create(environment, with_pip=True)
    purelib = Path(
        sysconfig.get_path(
            "purelib", vars={"base": str(environment), "platbase": str(environment)}
        )
    )
    (purelib / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = [str(environment / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    [wheel] = wheels.glob("quart_app-*.whl")
    subprocess.run([*pip, str(wheel)], check=True, timeout=300)
    return environment / "bin"


def run(command: list[str], **options: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **options,  # type: ignore[call-overload]
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
        **{k: v for k, v in os.environ.items() if not k.startswith("QUART_")},
        "QUART_SECRET_KEY": "installed-test-secret",
    }
    server = subprocess.Popen(
        [str(installed / "quart-app"), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=tmp_path,
        env=environment,
    )
    try:
        for _ in range(300):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    raise AssertionError("quart-app serve exited") from None
                time.sleep(0.1)
        else:
            raise AssertionError("quart-app serve never answered")
        style = httpx.get(f"http://127.0.0.1:{port}/static/styles/site.css", timeout=5)
        login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (page.status_code, style.status_code, login.status_code) == (200, 200, 200)
    assert "Hello World" in page.text
    data = installed.parent / "var" / "quart_app"
    assert (data / "instance" / "quart_app.sqlite3").is_file(), "the database lives under var/"
    assert not (tmp_path / "uploads").exists(), "nothing is written where the server was started"
