"""Finding the Python files to port and what each one is (module name, test or not)."""

from __future__ import annotations

import configparser
import io
import tokenize
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from libcst.helpers.module import ModuleNameAndPackage, calculate_module_and_package

from flask2quart.names import CONFTEST, TEST_FILE_PREFIX, TEST_FILE_SUFFIX

AsyncioMode = Literal["auto", "strict"]

_SKIPPED_DIRECTORIES = frozenset(
    {"__pycache__", "node_modules", "venv", "build", "dist", "site-packages"}
)


@dataclass(frozen=True)
class SourceFile:
    """A Python file to port, with the module name its imports resolve against."""

    path: Path
    module: ModuleNameAndPackage
    is_test: bool
    asyncio_mode: AsyncioMode


def python_files(paths: Iterable[Path]) -> list[Path]:
    """Expand files and directories into the sorted Python files they hold, each file once.

    Symbolic links are followed, but a directory already walked (a link back to a parent, two
    links to one folder) is not walked again, and a file reached by two paths is listed once.
    """
    found: dict[Path, Path] = {}
    walked: set[tuple[int, int]] = set()
    for path in paths:
        if path.is_dir():
            candidates: Iterable[Path] = _walk(path, walked)
        elif path.suffix == ".py":
            candidates = [path]
        else:
            raise FileNotFoundError(f"not a Python file or directory: {path}")
        for candidate in candidates:
            found.setdefault(candidate.resolve(), candidate)
    return sorted(found.values())


def _walk(directory: Path, walked: set[tuple[int, int]]) -> Iterator[Path]:
    status = directory.stat()
    identity = (status.st_dev, status.st_ino)
    if identity in walked:
        return
    walked.add(identity)
    for child in sorted(directory.iterdir()):
        if child.is_dir():
            if child.name.startswith(".") or child.name in _SKIPPED_DIRECTORIES:
                continue
            yield from _walk(child, walked)
        elif child.suffix == ".py":
            yield child


class UnreadableSourceError(Exception):
    """A Python file whose bytes cannot be decoded as its declared encoding."""


def read_source(path: Path) -> tuple[str, str]:
    """A Python file's text and its encoding, as Python reads it (PEP 263 line, UTF-8 BOM)."""
    data = path.read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding), encoding
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        raise UnreadableSourceError(str(error)) from error


def describe(path: Path, *, asyncio_mode: AsyncioMode | None = None) -> SourceFile:
    """Work out a file's module name (from its package root) and whether it holds tests."""
    absolute = path.resolve()
    root = absolute.parent
    while (root / "__init__.py").exists() and root.parent != root:
        root = root.parent
    return SourceFile(
        path=path,
        module=calculate_module_and_package(root, absolute),
        is_test=is_test_file(path),
        asyncio_mode=asyncio_mode or detect_asyncio_mode(absolute.parent),
    )


def is_test_file(path: Path) -> bool:
    """Whether pytest would collect the file (or it is a conftest)."""
    name = path.name
    return (
        name == CONFTEST
        or (name.startswith(TEST_FILE_PREFIX) and name.endswith(".py"))
        or name.endswith(TEST_FILE_SUFFIX)
    )


def detect_asyncio_mode(directory: Path) -> AsyncioMode:
    """Read pytest-asyncio's mode from the nearest pytest configuration, as pytest would."""
    for folder in (directory, *directory.parents):
        mode = _configured_mode(folder)
        if mode is not None:
            return "auto" if mode == "auto" else "strict"
    return "strict"


def _configured_mode(folder: Path) -> str | None:
    """The configured mode ("" when pytest is configured without one), or None if unconfigured."""
    pytest_ini = folder / "pytest.ini"
    if pytest_ini.is_file():
        return _ini_mode(pytest_ini, "pytest") or ""
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            data = {}
        options = data.get("tool", {}).get("pytest", {}).get("ini_options")
        if isinstance(options, dict):
            return str(options.get("asyncio_mode", ""))
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        config = folder / name
        if config.is_file():
            mode = _ini_mode(config, section)
            if mode is not None:
                return mode
    return None


def _ini_mode(path: Path, section: str) -> str | None:
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error:
        return None
    if not parser.has_section(section):
        return None
    return parser.get(section, "asyncio_mode", fallback="").strip()
