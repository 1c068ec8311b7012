"""The edits the rules ask for on one module, and the transformer that carries them out."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import libcst as cst

from flask2quart.import_placement import add_import
from flask2quart.report import Finding

Rewrite = Callable[[cst.CSTNode], cst.CSTNode | cst.FlattenSentinel[cst.CSTNode]]


@dataclass
class Plan:
    """Edits keyed by the original nodes they apply to, plus imports to add and findings."""

    awaits: set[cst.CSTNode] = field(default_factory=set)
    asyncs: set[cst.CSTNode] = field(default_factory=set)
    rewrites: dict[cst.CSTNode, list[Rewrite]] = field(default_factory=dict)
    imports: set[tuple[str, str | None]] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)

    def rewrite(self, node: cst.CSTNode, rewrite: Rewrite) -> None:
        """Queue a rewrite; several rewrites of one node run in the order queued."""
        self.rewrites.setdefault(node, []).append(rewrite)

    def apply(self, module: cst.Module, *, local_packages: Collection[str]) -> cst.Module:
        """Carry out the edits on the module the plan was made from."""
        updated = module.visit(_PlanApplier(self))
        for target, name in sorted(self.imports, key=lambda item: (item[0], item[1] or "")):
            updated = add_import(updated, target, name, local_packages=local_packages)
        return updated


class _PlanApplier(cst.CSTTransformer):
    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan

    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.FlattenSentinel[cst.CSTNode]:
        # Before the rewrites too: one may move this node's awaited value under a new node
        # (`client.get(...).text` becomes a call of `.get_data` on it).
        result = _parenthesize_awaited_primary(updated_node)
        for rewrite in self.plan.rewrites.get(original_node, ()):
            rewritten = rewrite(result)
            if isinstance(rewritten, cst.FlattenSentinel):
                return rewritten
            result = rewritten
        result = _parenthesize_awaited_primary(result)
        if original_node in self.plan.asyncs:
            result = _make_async(result)
        if original_node in self.plan.awaits:
            assert isinstance(result, cst.BaseExpression)
            result = cst.Await(expression=result)
        return result


def renamed(new_name: str) -> Rewrite:
    """A rewrite that renames a name, an attribute's last part, a keyword or a function."""

    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        if isinstance(updated, cst.Name):
            return updated.with_changes(value=new_name)
        if isinstance(updated, cst.Attribute):
            return updated.with_changes(attr=cst.Name(new_name))
        if isinstance(updated, cst.Arg):
            return updated.with_changes(keyword=cst.Name(new_name))
        assert isinstance(updated, cst.FunctionDef)
        return updated.with_changes(name=cst.Name(new_name))

    return rewrite


def _make_async(node: cst.CSTNode) -> cst.CSTNode:
    if isinstance(node, cst.FunctionDef | cst.With | cst.For) and node.asynchronous is None:
        return node.with_changes(asynchronous=cst.Asynchronous())
    return node


def parenthesized(node: cst.BaseExpression) -> cst.BaseExpression:
    """The expression wrapped in one pair of parentheses, unless it already has some."""
    if node.lpar:
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _parenthesize_awaited_primary(node: cst.CSTNode) -> cst.CSTNode:
    """`await` binds looser than `.attr`, `[key]`, `(...)` and another `await`."""
    if isinstance(node, cst.Attribute | cst.Subscript) and isinstance(node.value, cst.Await):
        return node.with_changes(value=parenthesized(node.value))
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Await):
        return node.with_changes(func=parenthesized(node.func))
    if isinstance(node, cst.Await) and isinstance(node.expression, cst.Await):
        return node.with_changes(expression=parenthesized(node.expression))
    return node
