"""docs/porting.md tells the truth: its code is this repository's, its claims name real tests."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

from ..parity.table import INTENDED_DIFFERENCES, ROWS
from .test_awaitables import AWAIT_TABLE

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "porting.md").read_text()

_SOURCED_BLOCK = re.compile(
    r"^(?:From `(?P<one>[^`]+)`|In both `(?P<first>[^`]+)` and `(?P<second>[^`]+)`):\n\n"
    r"```python\n(?P<code>.*?)\n```",
    re.MULTILINE | re.DOTALL,
)
_BLOCK = re.compile(r"^```(?P<lang>\w*)\n(?P<code>.*?)\n```", re.MULTILINE | re.DOTALL)
_AWAIT_ROW = re.compile(r"^\| `(?P<name>[^`]+)` \| (?P<awaited>yes|no) \|$", re.MULTILINE)
_ROW_ID = re.compile(r"`(?P<id>[a-z0-9]+(?:-[a-z0-9]+)+)(?P<star>\*?)`")


def _sourced_blocks() -> list[tuple[tuple[str, ...], str]]:
    blocks = []
    for match in _SOURCED_BLOCK.finditer(GUIDE):
        files = tuple(f for f in match.group("one", "first", "second") if f)
        blocks.append((files, match.group("code")))
    return blocks


@pytest.mark.parametrize(("files", "code"), _sourced_blocks())
def test_each_python_block_is_copied_from_the_file_it_names(
    files: tuple[str, ...], code: str
) -> None:
    # The guide shows blocks dedented; the file holds them at some indentation.
    candidates = [textwrap.indent(code, " " * width) for width in range(0, 17, 4)]
    for name in files:
        text = (ROOT / name).read_text()
        assert any(candidate in text for candidate in candidates), f"not verbatim in {name}"


def test_every_python_block_names_its_file() -> None:
    python_blocks = [m for m in _BLOCK.finditer(GUIDE) if m.group("lang") == "python"]
    assert len(python_blocks) == len(_sourced_blocks()) > 20


def test_shell_commands_are_the_makefiles() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for block in _BLOCK.finditer(GUIDE):
        if block.group("lang") != "sh":
            continue
        for line in block.group("code").splitlines():
            command = line.partition("#")[0].strip()
            if command.startswith("make "):
                assert re.search(rf"^{command.removeprefix('make ')}:", makefile, re.MULTILINE)
            else:
                assert f"$(BIN)/{command}" in makefile, command


def test_the_awaitables_table_is_the_tested_one() -> None:
    documented = {m["name"]: m["awaited"] == "yes" for m in _AWAIT_ROW.finditer(GUIDE)}
    assert documented == AWAIT_TABLE


def test_every_intended_difference_is_explained_in_the_guide() -> None:
    section = GUIDE.split("### Intended differences", 1)[1]
    listed = set(re.findall(r"^- `([a-z-]+)`:", section, re.MULTILINE))
    assert listed == set(INTENDED_DIFFERENCES)


def test_parity_rows_named_in_the_guide_exist() -> None:
    ids = {row.id for row in ROWS}
    for match in _ROW_ID.finditer(GUIDE):
        name = match["id"]
        if match["star"]:
            assert any(row_id.startswith(name) for row_id in ids), name
        else:
            assert name in ids or name in INTENDED_DIFFERENCES, name


def _test_names() -> set[str]:
    names: set[str] = set()
    for path in [*ROOT.joinpath("tests").rglob("test_*.py")]:
        tree = ast.parse(path.read_text())
        names.update(
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        )
    return names


def test_tests_and_files_named_in_the_guide_exist() -> None:
    names = _test_names()
    for test in re.findall(r"`(?:[\w/]+\.py::)?(test_\w+)`", GUIDE):
        assert test in names, test
    for path in re.findall(r"`((?:tests|examples|quart_app)/[\w/.]+\.py)", GUIDE):
        assert (ROOT / path).exists(), path


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_links_within_the_guide_reach_a_heading() -> None:
    slugs = {_slug(h) for h in re.findall(r"^#+ (.+)$", GUIDE, re.MULTILINE)}
    for anchor in re.findall(r"\]\(#([^)]+)\)", GUIDE):
        assert anchor in slugs, anchor
    assert "](flask2quart.md)" in GUIDE
