"""The README's shell examples run verbatim against the site as `make serve` runs it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .support.app_settings import server_env
from .support.live_server import PROJECT_ROOT, quart_app_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

README = (PROJECT_ROOT / "README.md").read_text()
_SHELL_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
README_SITE = "127.0.0.1:5000"
README_KEY = "pA55w0Rd"


def curl_examples() -> list[str]:
    """The README's shell blocks that talk to the site."""
    return [
        block for block in _SHELL_BLOCK.findall(README) if "curl" in block and README_SITE in block
    ]


def test_the_readme_has_curl_examples() -> None:
    assert len(curl_examples()) >= 2


@pytest.mark.parametrize("block", curl_examples(), ids=lambda b: b.splitlines()[0][:40])
def test_each_curl_example_runs_as_written(block: str, tmp_path: Path) -> None:
    env = server_env(tmp_path, API_KEY=README_KEY)
    workdir = tmp_path / "shell"
    workdir.mkdir()
    with quart_app_server(env, extra_args=("--access-logfile", "")) as server:
        script = block.replace(README_SITE, server.base_url.removeprefix("http://"))
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    if "DELETE" in block:
        lines = result.stdout.splitlines()
        assert lines[-2:] == ["alpha", "204"]
    assert "error" not in result.stdout.lower()
