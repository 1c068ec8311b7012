"""Adding an import where isort (and ruff) would put it: its section, in sorted order."""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import dataclass

import libcst as cst
from libcst.helpers import get_full_name_for_node

from flask2quart.syntax import COMMA

_FUTURE, _STDLIB, _THIRD_PARTY, _FIRST_PARTY = range(4)


@dataclass(frozen=True)
class _Placed:
    position: int
    section: int
    key: tuple[int, str]


def add_import(
    module: cst.Module, target: str, name: str | None, *, local_packages: Collection[str]
) -> cst.Module:
    """Add `import target` or `from target import name` unless the module already has it."""
    header = _header_imports(module, local_packages)
    body = list(module.body)
    for placed in header:
        statement = _import_of(body[placed.position])
        if _provides(statement, target, name):
            return module
    if name is not None:
        for placed in header:
            line = body[placed.position]
            statement = _import_of(line)
            if _imports_names_from(statement, target):
                assert isinstance(line, cst.SimpleStatementLine) and statement is not None
                body[placed.position] = line.with_changes(body=[_with_name(statement, name)])
                return module.with_changes(body=body)
    new: cst.BaseSmallStatement
    if name is None:
        new = cst.Import(names=[cst.ImportAlias(name=_dotted(target))])
    else:
        new = cst.ImportFrom(module=_dotted(target), names=[cst.ImportAlias(name=cst.Name(name))])
    section = _section(target, local_packages, is_relative=False)
    key = (0 if name is None else 1, target.lower())
    line = cst.SimpleStatementLine(body=[new])
    if not header:
        position = 1 if _has_docstring(module) else 0
        if position:
            line = line.with_changes(leading_lines=[cst.EmptyLine()])
        code = body[position] if position < len(body) else None
        if code is not None and not code.leading_lines:
            # PEP 8's blank lines between the imports and the code after them.
            blank = 2 if isinstance(code, cst.FunctionDef | cst.ClassDef) else 1
            body[position] = code.with_changes(leading_lines=[cst.EmptyLine()] * blank)
        body.insert(position, line)
        return module.with_changes(body=body)
    later = [p for p in header if (p.section, p.key) > (section, key)]
    earlier = [p for p in header if (p.section, p.key) <= (section, key)]
    previous = earlier[-1] if earlier else None
    following = later[0] if later else None
    if previous is not None and previous.section == section:
        body.insert(previous.position + 1, line)
    elif following is not None:
        moved = body[following.position]
        assert isinstance(moved, cst.SimpleStatementLine)
        line = line.with_changes(leading_lines=moved.leading_lines)
        separator = [] if following.section == section else [cst.EmptyLine()]
        body[following.position] = moved.with_changes(leading_lines=separator)
        body.insert(following.position, line)
    else:
        assert previous is not None
        body.insert(previous.position + 1, line.with_changes(leading_lines=[cst.EmptyLine()]))
    return module.with_changes(body=body)


def _header_imports(module: cst.Module, local_packages: Collection[str]) -> list[_Placed]:
    placed: list[_Placed] = []
    for position, statement in enumerate(module.body):
        if position == 0 and _has_docstring(module):
            continue
        imported = _import_of(statement)
        if imported is None:
            break
        if isinstance(imported, cst.Import):
            target = get_full_name_for_node(imported.names[0].name) or ""
            section = _section(target, local_packages, is_relative=False)
            key = (0, target.lower())
        else:
            module_name = get_full_name_for_node(imported.module) if imported.module else None
            target = module_name or ""
            section = _section(target, local_packages, is_relative=bool(imported.relative))
            key = (1, target.lower())
        placed.append(_Placed(position, section, key))
    return placed


def _import_of(statement: cst.CSTNode) -> cst.Import | cst.ImportFrom | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Import | cst.ImportFrom):
            return small
    return None


def _provides(
    statement: cst.Import | cst.ImportFrom | None, target: str, name: str | None
) -> bool:
    if isinstance(statement, cst.Import):
        return name is None and any(
            get_full_name_for_node(alias.name) == target and alias.asname is None
            for alias in statement.names
        )
    if isinstance(statement, cst.ImportFrom) and name is not None and statement.module:
        if statement.relative or get_full_name_for_node(statement.module) != target:
            return False
        if isinstance(statement.names, cst.ImportStar):
            return True
        return any(
            get_full_name_for_node(alias.name) == name and alias.asname is None
            for alias in statement.names
        )
    return False


def _imports_names_from(statement: cst.Import | cst.ImportFrom | None, target: str) -> bool:
    """`from target import a, b` (not relative, not `*`), where one more name can go."""
    return (
        isinstance(statement, cst.ImportFrom)
        and not statement.relative
        and statement.module is not None
        and get_full_name_for_node(statement.module) == target
        and not isinstance(statement.names, cst.ImportStar)
    )


def _with_name(statement: cst.Import | cst.ImportFrom, name: str) -> cst.ImportFrom:
    """The `from` import with `name` added where sorting puts it (at the end if unsorted)."""
    assert isinstance(statement, cst.ImportFrom) and not isinstance(
        statement.names, cst.ImportStar
    )
    aliases = list(statement.names)
    written = [get_full_name_for_node(alias.name) or "" for alias in aliases]
    position = len(aliases)
    if written == sorted(written):
        position = next((i for i, old in enumerate(written) if old > name), len(aliases))
    # Commas stay where they were: the new name takes the comma of the one it displaces.
    commas = [alias.comma for alias in aliases]
    between = next((c for c in commas if isinstance(c, cst.Comma)), COMMA)
    new_commas = [*commas[:-1], between, commas[-1]] if commas else [cst.MaybeSentinel.DEFAULT]
    aliases.insert(position, cst.ImportAlias(name=cst.Name(name)))
    return statement.with_changes(
        names=[
            alias.with_changes(comma=comma)
            for alias, comma in zip(aliases, new_commas, strict=True)
        ]
    )


def _section(target: str, local_packages: Collection[str], *, is_relative: bool) -> int:
    top = target.partition(".")[0]
    if top == "__future__":
        return _FUTURE
    if is_relative or top in local_packages:
        return _FIRST_PARTY
    if top in sys.stdlib_module_names:
        return _STDLIB
    return _THIRD_PARTY


def _has_docstring(module: cst.Module) -> bool:
    return bool(module.body) and module.get_docstring(clean=False) is not None


def _dotted(name: str) -> cst.Name | cst.Attribute:
    expression = cst.parse_expression(name)
    assert isinstance(expression, cst.Name | cst.Attribute)
    return expression
