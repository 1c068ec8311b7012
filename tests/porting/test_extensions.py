"""The Flask original needs no Flask extension, so the port needed no Quart counterpart."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

FLASK_APP = Path(__file__).resolve().parents[2] / "examples" / "flask_app"
_ALLOWED_THIRD_PARTY = {"flask", "werkzeug", "click", "pytest"}


def _imported_top_level_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.partition(".")[0])
    return modules


def test_the_flask_original_imports_only_flask_werkzeug_click_and_the_stdlib() -> None:
    imported = set().union(*(_imported_top_level_modules(p) for p in FLASK_APP.rglob("*.py")))
    third_party = imported - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party <= _ALLOWED_THIRD_PARTY
    assert "quart" not in imported and "quart_app" not in imported
