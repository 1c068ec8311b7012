"""The README is true: its shell examples run verbatim against the site as `make serve` runs
it, and what it says of the configuration files and settings is what they hold."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from quart_app.config import ENVIRONMENT_PREFIX, default_config

from .support.app_settings import server_env
from .support.live_server import PROJECT_ROOT, quart_app_server

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


@pytest.mark.server
@pytest.mark.slow
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


def test_the_readme_says_what_hypercorn_toml_holds() -> None:
    settings = tomllib.loads((PROJECT_ROOT / "hypercorn.toml").read_text())
    numbers = {1: "one", 2: "two", 3: "three", 4: "four"}
    assert f"`max_app_queue_size = {settings['max_app_queue_size']}`" in README
    assert f"{numbers[settings['workers']]} workers with {settings['worker_class']}" in README
    assert f"{settings['graceful_timeout']}-second graceful timeout" in README
    assert f"127.0.0.1:{settings['bind'][0].rpartition(':')[2]}" in README


def test_the_configuration_table_lists_every_setting_and_only_those() -> None:
    table = re.search(r"## Configuration\n(.*?)\n## ", README, re.DOTALL)
    assert table
    listed = set(re.findall(rf"`{ENVIRONMENT_PREFIX}_([A-Z0-9_]+)`", table.group(1)))
    # Fixed by the site's design rather than by a deployment.
    internal = {
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "USERNAME_COOKIE_MAX_AGE",
    }
    assert listed == set(default_config()) - internal


def test_every_make_target_the_readme_names_exists() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    for target in set(re.findall(r"`make ([a-z0-9-]+)", README)):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target
