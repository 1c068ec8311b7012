"""CLI commands: Flask runs each in an app context, Quart only when asked and in its own loop."""

from __future__ import annotations

import libcst as cst

from flask2quart.analysis import ModuleAnalysis
from flask2quart.syntax import COMMA, keyword_argument, with_argument


def on_call(analysis: ModuleAnalysis, node: cst.Call) -> None:
    """Commands get `with_appcontext=True`; a CLI runner in an async test runs in a thread."""
    func = node.func
    if not isinstance(func, cst.Attribute):
        return
    if func.attr.value == "command" and _is_app_group(analysis, func.value):
        if not any(
            a.keyword is not None and a.keyword.value == "with_appcontext" for a in node.args
        ):
            analysis.plan.rewrite(node, _with_appcontext)
    elif func.attr.value == "invoke" and analysis.kind_of(func.value) == "runner":
        frame = analysis.frame
        if frame is not None and frame.node.asynchronous is not None:
            # Quart's `with_appcontext` runs the command with `asyncio.run`, which cannot
            # start inside the test's running loop.
            analysis.plan.rewrite(node, _in_thread)
            analysis.plan.awaits.add(node)
            analysis.plan.imports.add(("asyncio", None))


def _is_app_group(analysis: ModuleAnalysis, receiver: cst.BaseExpression) -> bool:
    """`app.cli`, `bp.cli`, an `AppGroup(...)` or a function made a group by `.cli.group()`."""
    if not (analysis.parsed.uses_framework or analysis.is_test_module):
        return False
    if isinstance(receiver, cst.Attribute) and receiver.attr.value == "cli":
        return True
    return bool(analysis.parsed.qualified_names(receiver) & analysis.index.app_groups)


def _with_appcontext(updated: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(updated, cst.Call)
    return with_argument(updated, keyword_argument("with_appcontext", cst.Name("True")))


def _in_thread(updated: cst.CSTNode) -> cst.CSTNode:
    """`runner.invoke(args=[...])` -> `asyncio.to_thread(runner.invoke, args=[...])`."""
    assert isinstance(updated, cst.Call)
    function = cst.Arg(updated.func, comma=COMMA if updated.args else cst.MaybeSentinel.DEFAULT)
    return cst.Call(func=cst.parse_expression("asyncio.to_thread"), args=[function, *updated.args])
