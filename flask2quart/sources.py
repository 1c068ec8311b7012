"""Finding the Python files to port and what each one is (module name, test or not)."""

from __future__ import annotations

import configparser
import io
import tokenize
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from libcst.helpers.module import ModuleNameAndPackage, calculate_module_and_package

from flask2quart.names import CONFTEST, TEST_FILE_PREFIX, TEST_FILE_SUFFIX

AsyncioMode = Literal["auto", "strict"]

# Sections holding pytest's options in ini-style files (pytest.ini's is `pytest` as well).
INI_SECTIONS: Final = {"pytest.ini": "pytest", "tox.ini": "pytest", "setup.cfg": "tool:pytest"}
_TEST_DIRECTORIES = frozenset({"tests", "test"})
# A folder with one of these is a project's root: folders above it are not the project's.
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini", ".git")
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
    pytest_config: PytestConfig | None = None


@dataclass(frozen=True)
class PytestConfig:
    """The file pytest reads its options from, and the options' raw values."""

    path: Path
    options: dict[str, object]


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
    # Real entries before links to them, so a file is listed under its own name.
    for child in sorted(directory.iterdir(), key=lambda child: (child.is_symlink(), child.name)):
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
    config = find_pytest_config(absolute.parent)
    configured_mode = config.options.get("asyncio_mode") if config is not None else None
    return SourceFile(
        path=path,
        module=calculate_module_and_package(root, absolute),
        is_test=is_test_file(absolute),
        asyncio_mode=asyncio_mode or ("auto" if configured_mode == "auto" else "strict"),
        pytest_config=config,
    )


def is_test_file(path: Path) -> bool:
    """Whether the file is test code: one pytest collects, a conftest, or a module in `tests/`."""
    name = path.name
    if (
        name == CONFTEST
        or (name.startswith(TEST_FILE_PREFIX) and name.endswith(".py"))
        or name.endswith(TEST_FILE_SUFFIX)
    ):
        return True
    for folder in path.parents:
        if folder.name in _TEST_DIRECTORIES:
            return True
        if any((folder / marker).exists() for marker in _PROJECT_MARKERS):
            return False
    return False


def find_pytest_config(directory: Path) -> PytestConfig | None:
    """The configuration pytest would use for tests in the directory, as pytest looks for it."""
    for folder in (directory, *directory.parents):
        for name in ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"):
            path = folder / name
            if not path.is_file():
                continue
            try:
                options = pytest_options(path, path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                options = None
            # pytest.ini is pytest's even without a [pytest] section.
            if options is not None or name == "pytest.ini":
                return PytestConfig(path, options or {})
    return None


def pytest_options(path: Path, text: str) -> dict[str, object] | None:
    """pytest's options in a configuration file's text; None if it has no pytest section.

    Raises ValueError when the text does not parse.
    """
    if path.name == "pyproject.toml":
        options = tomllib.loads(text).get("tool", {}).get("pytest", {}).get("ini_options")
        return options if isinstance(options, dict) else None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error as error:
        raise ValueError(str(error)) from error
    section = INI_SECTIONS[path.name]
    if not parser.has_section(section):
        return None
    return {key: value.strip() for key, value in parser.items(section)}
