"""The project's pytest configuration and dependency lists, edited for the ported code.

Only files inside the directories given are edited, and only by inserting or replacing single
lines, so comments and layout stay. Each edit is checked by parsing the result; a file that
does not come out as intended is left alone and reported.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flask2quart.report import Finding
from flask2quart.sources import INI_SECTIONS, SourceFile, pytest_options

QUART_REQUIREMENT = "quart>=0.22,<0.23"
PYTEST_ASYNCIO_REQUIREMENT = "pytest-asyncio>=0.24"
_LOOP_SCOPE = "asyncio_default_fixture_loop_scope"
_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# Indentation, the requirement, and a trailing comment with the spaces before it.
_REQUIREMENT_LINE = re.compile(r"([ \t]*)([^#]*?)([ \t]*(?:#.*)?)")


@dataclass
class ProjectFiles:
    """Original and edited text of the non-Python files the port changes, and its findings."""

    original: dict[Path, str] = field(default_factory=dict)
    ported: dict[Path, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def port_project_files(
    sources: Iterable[SourceFile], directories: Sequence[Path], *, tests_are_async: bool
) -> ProjectFiles:
    """Set what pytest-asyncio needs in the tests' configuration; swap Flask for Quart."""
    result = ProjectFiles()
    roots = {directory.resolve(): directory for directory in directories}
    if tests_are_async:
        configs = {
            source.pytest_config.path
            for source in sources
            if source.is_test and source.pytest_config is not None
        }
        for config in sorted(configs):
            shown = _as_given(config, roots)
            if shown is not None:
                _edit(result, shown, _with_loop_scope)
            elif _LOOP_SCOPE not in _options_of(config):
                result.findings.append(
                    _finding(
                        config,
                        f"the ported tests need `{_LOOP_SCOPE} = function` here (pytest-asyncio "
                        "warns without it), but the file is outside the paths given",
                        f"add `{_LOOP_SCOPE} = function` to pytest's options",
                    )
                )
    # pytest-asyncio only with async tests: installed, it warns about its unset loop scope.
    pyproject_edit = functools.partial(_pyproject_dependencies, with_asyncio=tests_are_async)
    requirements_edit = functools.partial(_requirements, with_asyncio=tests_are_async)
    for root in roots.values():
        pyproject = root / "pyproject.toml"
        if pyproject.is_file():
            _edit(result, pyproject, pyproject_edit)
        for requirements in sorted(root.glob("requirements*.txt")):
            _edit(result, requirements, requirements_edit)
    return result


def _as_given(path: Path, roots: dict[Path, Path]) -> Path | None:
    """The path spelled from the directory given that holds it, or None if none does."""
    resolved = path.resolve()
    for root, given in roots.items():
        if resolved.is_relative_to(root):
            return given / resolved.relative_to(root)
    return None


def _edit(
    result: ProjectFiles, path: Path, edit: Callable[[Path, str], tuple[str, str | None]]
) -> None:
    original = result.original.get(path)
    if original is None:
        original = path.read_bytes().decode("utf-8")  # line endings as they are
    text = result.ported.get(path, original)
    edited, problem = edit(path, text)
    if problem is not None:
        result.findings.append(_finding(path, problem, "make the change by hand"))
    elif edited != text:
        result.original[path] = original
        result.ported[path] = edited


def _finding(path: Path, message: str, suggestion: str) -> Finding:
    return Finding(str(path), 1, 1, "project-file", message, suggestion)


def _options_of(path: Path, text: str | None = None) -> dict[str, object]:
    if text is None:
        text = path.read_text(encoding="utf-8")
    return pytest_options(path, text) or {}


def _with_loop_scope(path: Path, text: str) -> tuple[str, str | None]:
    """`asyncio_default_fixture_loop_scope = function` under pytest's section header."""
    if _LOOP_SCOPE in _options_of(path, text):
        return text, None
    if path.name == "pyproject.toml":
        header, line = r"\[tool\.pytest\.ini_options\]", f'{_LOOP_SCOPE} = "function"'
    else:
        header, line = re.escape(f"[{INI_SECTIONS[path.name]}]"), f"{_LOOP_SCOPE} = function"
    match = re.search(rf"^{header}[ \t]*(#.*)?\r?\n", text, re.MULTILINE)
    if match is None:
        return text, f"cannot find where to add `{_LOOP_SCOPE}` to pytest's options"
    newline = "\r\n" if match.group(0).endswith("\r\n") else "\n"
    edited = text[: match.end()] + line + newline + text[match.end() :]
    try:
        scope = _options_of(path, edited).get(_LOOP_SCOPE)
    except ValueError:
        scope = None
    if scope != "function":
        return text, f"adding `{_LOOP_SCOPE}` to pytest's options did not parse back"
    return edited, None


def _pyproject_dependencies(
    path: Path, text: str, *, with_asyncio: bool
) -> tuple[str, str | None]:
    """Flask becomes Quart in `[project]`'s lists; test extras with pytest get pytest-asyncio."""
    try:
        lists = _dependency_lists(text)
    except tomllib.TOMLDecodeError as error:
        return text, f"cannot read the file: {error}"
    edited = text
    expected: dict[str, list[str]] = {}
    for key, requirements in lists.items():
        start = _list_start(edited, key)
        new = [QUART_REQUIREMENT if _name(item) == "flask" else item for item in requirements]
        for item in requirements:
            if _name(item) == "flask":
                edited = _replace_string(edited, start, item, QUART_REQUIREMENT)
        names = {_name(item) for item in requirements}
        if with_asyncio and "pytest" in names and "pytest-asyncio" not in names:
            pytest = next(item for item in requirements if _name(item) == "pytest")
            edited = _replace_string(
                edited, start, pytest, pytest, added=PYTEST_ASYNCIO_REQUIREMENT
            )
            new.insert(new.index(pytest) + 1, PYTEST_ASYNCIO_REQUIREMENT)
        expected[key] = new
    if expected == lists:
        return text, None
    try:
        found = _dependency_lists(edited)
    except tomllib.TOMLDecodeError:
        found = {}
    if found != expected:
        return text, "cannot swap Flask for Quart in the dependency lists by a simple edit"
    return edited, None


def _dependency_lists(text: str) -> dict[str, list[str]]:
    """`[project]`'s dependencies and each optional list (`optional-dependencies.<extra>`)."""
    project = tomllib.loads(text).get("project", {})
    candidates = {"dependencies": project.get("dependencies")}
    for extra, requirements in project.get("optional-dependencies", {}).items():
        candidates[f"optional-dependencies.{extra}"] = requirements
    return {
        key: candidate
        for key, candidate in candidates.items()
        if isinstance(candidate, list) and all(isinstance(item, str) for item in candidate)
    }


def _list_start(text: str, key: str) -> int:
    """Where the list for `key` opens in the text, or 0 when it cannot be found."""
    table, _, name = key.rpartition(".")
    table = f"project.{table}" if table else "project"
    header = re.search(rf"^\[{re.escape(table)}\][ \t]*(#.*)?$", text, re.MULTILINE)
    if header is None:
        return 0
    entry = re.compile(rf"^[ \t]*[\"']?{re.escape(name)}[\"']?[ \t]*=[ \t]*\[", re.MULTILINE)
    found = entry.search(text, header.end())
    return found.end() if found else 0


def _replace_string(
    text: str, start: int, item: str, replacement: str, *, added: str | None = None
) -> str:
    """Replace the first quoted `item` after `start` (and append `added`, same quotes)."""
    for quote in ('"', "'"):
        position = text.find(f"{quote}{item}{quote}", start)
        if position >= 0:
            new = f"{quote}{replacement}{quote}"
            if added is not None:
                new += f", {quote}{added}{quote}"
            return text[:position] + new + text[position + len(item) + 2 :]
    return text


def _requirements(path: Path, text: str, *, with_asyncio: bool) -> tuple[str, str | None]:
    """`flask...` lines become Quart's; a `pytest` line gets pytest-asyncio after it."""
    lines = text.splitlines(keepends=True)
    names = {_name(line) for line in lines}
    edited: list[str] = []
    for line in lines:
        name = _name(line)
        ending = line[len(line.rstrip("\r\n")) :]
        if name == "flask":
            parts = _REQUIREMENT_LINE.fullmatch(line.removesuffix(ending))
            assert parts is not None  # every part of the pattern is optional
            indent, _, comment = parts.groups()
            line = indent + QUART_REQUIREMENT + comment + ending
        edited.append(line)
        if with_asyncio and name == "pytest" and "pytest-asyncio" not in names:
            edited.append(PYTEST_ASYNCIO_REQUIREMENT + (ending or "\n"))
    return "".join(edited), None


def _name(requirement: str) -> str | None:
    """The normalised project name a requirement line or string starts with."""
    if requirement.lstrip().startswith(("#", "-")):
        return None
    match = _REQUIREMENT_NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None
