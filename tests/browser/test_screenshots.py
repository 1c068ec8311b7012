"""`make screenshots` is deterministic: two runs on an unchanged tree make the same pictures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..support.live_server import PROJECT_ROOT

# The scenes whose pages hold what varies between runs: a free port, upload times, the random
# part of stored names and a throttled upload still running.
VARYING_SCENES = ("api", "upload", "uploads")


def _pictures(output: Path) -> dict[str, bytes]:
    command = [sys.executable, "-m", "scripts.screenshots", "--output", str(output)]
    for scene in VARYING_SCENES:
        command += ["--scene", scene]
    subprocess.run(command, cwd=PROJECT_ROOT, check=True, timeout=300, capture_output=True)
    return {path.name: path.read_bytes() for path in sorted(output.glob("*.png"))}


def test_two_runs_make_the_same_pictures(tmp_path: Path) -> None:
    first = _pictures(tmp_path / "first")
    second = _pictures(tmp_path / "second")
    assert sorted(first) == sorted(
        f"{s}-{w}.png" for s in VARYING_SCENES for w in ("desktop", "phone")
    )
    assert [name for name in first if first[name] != second[name]] == []
