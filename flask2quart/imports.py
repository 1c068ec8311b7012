"""Rewriting Flask imports (and the names they bind) to their Quart homes."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import ScopeProvider

from flask2quart.analysis import ModuleAnalysis
from flask2quart.names import (
    FLASK_STAR_NAMES,
    NO_COUNTERPART,
    PRIVATE_NAME_ADVICE,
    RENAMED,
    SHARED_SUBMODULES,
)
from flask2quart.plan import Rewrite, renamed


def quart_home(flask_name: str) -> str | None:
    """Where a Flask (or Werkzeug) name lives in Quart, or None if it has no counterpart."""
    if flask_name in RENAMED:
        return RENAMED[flask_name]
    if flask_name in NO_COUNTERPART or is_private(flask_name):
        return None
    head, _, rest = flask_name.partition(".")
    if head != "flask" or not rest:
        return None
    module = rest.rpartition(".")[0]
    if not module or module in SHARED_SUBMODULES:
        return f"quart.{rest}"
    return None


def is_private(name: str) -> bool:
    """`flask._app_ctx_stack`: Flask's internals, which Quart does not mirror."""
    return any(part.startswith("_") for part in name.split("."))


def no_counterpart_advice(flask_name: str) -> str:
    """What to do instead of using a Flask name Quart lacks."""
    return PRIVATE_NAME_ADVICE.get(
        flask_name.rpartition(".")[2], "find the Quart way to do this by hand"
    )


def quart_module(flask_module: str) -> str | None:
    """Quart's module for `flask` or one of its submodules."""
    if flask_module == "flask":
        return "quart"
    submodule = flask_module.removeprefix("flask.")
    if flask_module.startswith("flask.") and submodule in SHARED_SUBMODULES:
        return f"quart.{submodule}"
    return None


def on_import_from(analysis: ModuleAnalysis, node: cst.ImportFrom) -> None:
    """`from flask import Flask, request` -> `from quart import Quart, request`."""
    if node.relative or node.module is None:
        return
    module = get_full_name_for_node(node.module) or ""
    if not _is_ported_module(module):
        return
    if isinstance(node.names, cst.ImportStar):
        used = _star_names_used(analysis) if module == "flask" else []
        if used:
            # Names from a star import cannot be resolved, so none would be renamed: spell
            # out the ones the module uses and let the next round port them.
            analysis.plan.rewrite(node, _explicit_names(used))
            return
        target = quart_module(module)
        if target is not None:
            analysis.plan.rewrite(node, _set_module(target))
        return
    homes: list[tuple[cst.ImportAlias, str | None]] = []
    for alias in node.names:
        name = get_full_name_for_node(alias.name) or ""
        home = quart_home(f"{module}.{name}")
        if home is None and module.startswith("flask"):
            analysis.report(
                alias,
                "no-counterpart",
                f"`{module}.{name}` has no Quart counterpart; the import is left on Flask",
                no_counterpart_advice(f"{module}.{name}"),
            )
        homes.append((alias, home))
    if all(home is None for _, home in homes):
        return
    targets = {home.rpartition(".")[0] if home else module for _, home in homes}
    if len(targets) == 1:
        analysis.plan.rewrite(node, _retarget_in_place(targets.pop(), homes))
        return
    line = analysis.parsed.parent(node)
    if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
        analysis.plan.rewrite(line, _split_import(module, homes))


def _is_ported_module(module: str) -> bool:
    if module.startswith("flask.ext."):
        return False  # an extension: diagnostics reports it
    return module in {"flask", "werkzeug", "werkzeug.datastructures"} or module.startswith(
        "flask."
    )


def _star_names_used(analysis: ModuleAnalysis) -> list[str]:
    """Names the module reads without binding them that `from flask import *` provides."""
    scopes = analysis.parsed.wrapper.resolve(ScopeProvider)
    used: set[str] = set()
    for scope in {scope for scope in scopes.values() if scope is not None}:
        for access in scope.accesses:
            node = access.node
            if not access.referents and isinstance(node, cst.Name):
                used.add(node.value)
    return sorted(used & FLASK_STAR_NAMES)


def _explicit_names(names: list[str]) -> Rewrite:
    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.ImportFrom)
        aliases = [cst.ImportAlias(name=cst.Name(name)) for name in names]
        return updated.with_changes(names=aliases)

    return rewrite


def _set_module(module: str) -> Rewrite:
    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.ImportFrom)
        return updated.with_changes(module=_dotted(module))

    return rewrite


def _dotted(name: str) -> cst.Name | cst.Attribute:
    expression = cst.parse_expression(name)
    assert isinstance(expression, cst.Name | cst.Attribute)
    return expression


def _renamed_alias(alias: cst.ImportAlias, home: str | None) -> cst.ImportAlias:
    if home is None:
        return alias
    new_name = home.rpartition(".")[2]
    if (get_full_name_for_node(alias.name) or "") == new_name:
        return alias
    return alias.with_changes(name=cst.Name(new_name))


def _retarget_in_place(
    module: str, homes: Sequence[tuple[cst.ImportAlias, str | None]]
) -> Rewrite:
    renamed = {id(alias): home for alias, home in homes}

    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.ImportFrom) and not isinstance(
            updated.names, cst.ImportStar
        )
        names = [
            _renamed_alias(updated_alias, renamed[id(original)])
            for updated_alias, (original, _) in zip(updated.names, homes, strict=True)
        ]
        return updated.with_changes(module=_dotted(module), names=names)

    return rewrite


def _split_import(module: str, homes: Sequence[tuple[cst.ImportAlias, str | None]]) -> Rewrite:
    """One `from ... import` per target module, in first-seen order."""

    def rewrite(updated: cst.CSTNode) -> cst.FlattenSentinel[cst.CSTNode]:
        assert isinstance(updated, cst.SimpleStatementLine)
        groups: dict[str, list[cst.ImportAlias]] = {}
        for alias, home in homes:
            target = home.rpartition(".")[0] if home else module
            clean = _renamed_alias(alias, home).with_changes(comma=cst.MaybeSentinel.DEFAULT)
            groups.setdefault(target, []).append(clean)
        lines: list[cst.CSTNode] = [
            cst.SimpleStatementLine(
                body=[cst.ImportFrom(module=_dotted(target), names=aliases)],
            )
            for target, aliases in groups.items()
        ]
        lines[0] = lines[0].with_changes(leading_lines=updated.leading_lines)
        return cst.FlattenSentinel(lines)

    return rewrite


def on_import(analysis: ModuleAnalysis, node: cst.Import) -> None:
    """`import flask` -> `import quart`; references follow in `on_reference`."""
    for alias in node.names:
        name = get_full_name_for_node(alias.name) or ""
        target = quart_module(name)
        if target is not None:
            analysis.plan.rewrite(alias, _set_alias_name(target))


def _set_alias_name(target: str) -> Rewrite:
    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.ImportAlias)
        return updated.with_changes(name=_dotted(target))

    return rewrite


def on_reference(analysis: ModuleAnalysis, node: cst.Name | cst.Attribute) -> None:
    """Rename uses of renamed names: `Flask(...)`, `flask.Flask`, and `flask.` itself."""
    for name in analysis.parsed.qualified_names(node):
        if isinstance(node, cst.Name):
            if name == "flask" and node.value == "flask":
                analysis.plan.rewrite(node, renamed("quart"))
                return
            old, new = _short_names(name)
            if new is not None and old == node.value:
                analysis.plan.rewrite(node, renamed(new))
                return
        else:
            old, new = _short_names(name)
            if new is not None and old == node.attr.value:
                analysis.plan.rewrite(node, renamed(new))
                return


def _short_names(name: str) -> tuple[str, str | None]:
    """The last component of a name and of its Quart home, if that one differs."""
    old = name.rpartition(".")[2]
    home = RENAMED.get(name)
    new = home.rpartition(".")[2] if home is not None else None
    return old, (new if new != old else None)
