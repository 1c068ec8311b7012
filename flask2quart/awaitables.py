"""Awaiting what Quart makes awaitable, and calls to functions that became async."""

from __future__ import annotations

import libcst as cst

from flask2quart.analysis import ModuleAnalysis
from flask2quart.names import (
    AWAITABLE_APP_METHODS,
    AWAITABLE_HELPERS,
    REQUEST_AWAITABLE_ATTRIBUTES,
    REQUEST_AWAITABLE_METHODS,
)
from flask2quart.syntax import COMMA

_RESOURCE_ROOTS = {"open_resource": "root_path", "open_instance_resource": "instance_path"}


def on_attribute(analysis: ModuleAnalysis, node: cst.Attribute) -> None:
    """`request.form` and friends are awaitable properties in Quart."""
    name = analysis.parsed.framework_name(node)
    if name is None or not name.startswith("request."):
        return
    attribute = name.removeprefix("request.")
    if attribute in REQUEST_AWAITABLE_ATTRIBUTES and not _is_store_target(analysis, node):
        analysis.request_await(node, f"`request.{attribute}`")


def on_call(analysis: ModuleAnalysis, node: cst.Call) -> None:
    """Await framework coroutines, `FileStorage.save` and project functions now async."""
    name = analysis.parsed.framework_name(node.func)
    if name is not None:
        _framework_call(analysis, node, name)
    func = node.func
    if isinstance(func, cst.Attribute):
        if func.attr.value == "save" and analysis.kind_of(func.value) == "file":
            analysis.request_await(node, "`FileStorage.save()`")
            return
        if func.attr.value in {"push", "pop"} and analysis.kind_of(func.value) == "context":
            analysis.request_await(node, f"the context's `{func.attr.value}()`")
            return
        if func.attr.value in _RESOURCE_ROOTS and analysis.parsed.uses_framework:
            _open_resource_as_open(analysis, node, func)
            return
    callee = project_async_callee(analysis, node)
    if callee is not None:
        analysis.request_await(node, f"`{callee.rpartition('.')[2]}()` (now async)")


def _framework_call(analysis: ModuleAnalysis, node: cst.Call, name: str) -> None:
    if name in AWAITABLE_HELPERS:
        analysis.request_await(node, f"`{name}()`")
        return
    receiver, _, method = name.rpartition(".")
    if (receiver == "request" and method in REQUEST_AWAITABLE_METHODS) or (
        receiver == "current_app" and method in AWAITABLE_APP_METHODS
    ):
        analysis.request_await(node, f"`{name}()`")


def project_async_callee(analysis: ModuleAnalysis, node: cst.Call) -> str | None:
    """The project's async function this call goes to, if it can be told."""
    for candidate in sorted(analysis.callees(node)):
        if candidate in analysis.index.async_functions:
            return candidate
    return None


def _open_resource_as_open(analysis: ModuleAnalysis, node: cst.Call, func: cst.Attribute) -> None:
    """Quart's `open_resource` is an aiofiles coroutine; Flask's was a plain `open`.

    Spelling out the plain `open` keeps the caller (often `init_db`, run from a CLI command)
    synchronous, which is what the code around it expects.
    """
    if not node.args or node.args[0].keyword is not None:
        return
    root = _RESOURCE_ROOTS[func.attr.value]
    has_mode = (len(node.args) > 1 and node.args[1].keyword is None) or any(
        argument.keyword is not None and argument.keyword.value == "mode" for argument in node.args
    )

    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call) and isinstance(updated.func, cst.Attribute)
        first = updated.args[0]
        path = cst.Call(
            func=cst.parse_expression("os.path.join"),
            args=[
                cst.Arg(cst.Attribute(value=updated.func.value, attr=cst.Name(root))),
                first.with_changes(comma=cst.MaybeSentinel.DEFAULT),
            ],
        )
        arguments = [first.with_changes(value=path), *updated.args[1:]]
        if not has_mode:
            arguments[0] = arguments[0].with_changes(comma=COMMA)
            arguments.insert(1, cst.Arg(cst.SimpleString('"rb"'), comma=first.comma))
        return updated.with_changes(func=cst.Name("open"), args=arguments)

    analysis.plan.rewrite(node, rewrite)
    analysis.plan.imports.add(("os", None))


def _is_store_target(analysis: ModuleAnalysis, node: cst.Attribute) -> bool:
    parent = analysis.parsed.parent(node)
    return isinstance(parent, cst.AssignTarget | cst.AugAssign) or (
        isinstance(parent, cst.AnnAssign) and parent.target is node
    )
