"""unittest suites: async test methods only run on `IsolatedAsyncioTestCase`."""

from __future__ import annotations

import libcst as cst

from flask2quart.analysis import Frame, ModuleAnalysis
from flask2quart.names import UNITTEST_ASYNC_FIXTURES, UNITTEST_SYNC_CASES
from flask2quart.plan import renamed

_ASYNC_CASE = "IsolatedAsyncioTestCase"


def on_leave_class(analysis: ModuleAnalysis, node: cst.ClassDef) -> None:
    """A `TestCase` whose own or inherited tests go async becomes `IsolatedAsyncioTestCase`."""
    name = analysis.definition_name(node)
    async_methods = [
        statement.name.value
        for statement in node.body.body
        if isinstance(statement, cst.FunctionDef)
        and (statement.asynchronous is not None or statement in analysis.plan.asyncs)
    ]
    going_async = bool(async_methods)
    root = analysis.index.unittest_root(name)
    if root == name and (going_async or name in analysis.index.unittest_roots_going_async()):
        for base in node.bases:
            names = analysis.parsed.qualified_names(base.value)
            if names & UNITTEST_SYNC_CASES:
                analysis.plan.rewrite(base.value, renamed(_ASYNC_CASE))
                if isinstance(base.value, cst.Name):
                    analysis.plan.imports.add(("unittest", _ASYNC_CASE))
    elif (
        root is None
        and analysis.is_test_module
        and any(method.startswith("test") for method in async_methods)
    ):
        _report_foreign_base(analysis, node)


def _report_foreign_base(analysis: ModuleAnalysis, node: cst.ClassDef) -> None:
    """Async tests on a test class from another library may never be awaited."""
    foreign = sorted(
        name
        for base in node.bases
        for name in analysis.parsed.qualified_names(base.value)
        if name not in analysis.index.classes and not name.startswith("builtins.")
    )
    if foreign:
        analysis.report(
            node,
            "unittest-async",
            f"`{node.name.value}` gets async methods, but its base `{foreign[0]}` is not a "
            "`unittest.TestCase` the port can turn into `IsolatedAsyncioTestCase`: its async "
            "tests would not run",
            "derive the class from `unittest.IsolatedAsyncioTestCase` (or a base that awaits "
            "async tests), or make it a plain pytest class",
        )


def on_leave_function(analysis: ModuleAnalysis, frame: Frame) -> None:
    """`setUp` and `tearDown` that await become `asyncSetUp` and `asyncTearDown`."""
    node = frame.node
    new_name = UNITTEST_ASYNC_FIXTURES.get(node.name.value)
    if (
        new_name is not None
        and frame.is_async
        and frame.owner is not None
        and analysis.index.unittest_root(frame.owner) is not None
    ):
        analysis.plan.rewrite(node, renamed(new_name))


def on_call(analysis: ModuleAnalysis, node: cst.Call) -> None:
    """`super().setUp()` is `await super().asyncSetUp()` once either class's set-up is async.

    unittest itself calls the inherited `setUp` (the class no longer has one) before
    `asyncSetUp`, so the base's synchronous part still runs first, once, and a base whose
    set-up became `asyncSetUp` still runs before the rest of the subclass's.
    """
    frame = analysis.frame
    func = node.func
    if (
        frame is None
        or frame.owner is None
        or not isinstance(func, cst.Attribute)
        or not isinstance(func.value, cst.Call)
        or not isinstance(func.value.func, cst.Name)
        or func.value.func.value != "super"
    ):
        return
    new_name = UNITTEST_ASYNC_FIXTURES.get(func.attr.value)
    if new_name is None or frame.node.name.value not in {func.attr.value, new_name}:
        return
    base_is_async = any(
        f"{ancestor}.{new_name}" in analysis.index.async_functions
        for ancestor in analysis.index.ancestors(frame.owner)[1:]
    )
    if frame.node.asynchronous is not None or base_is_async:
        analysis.plan.rewrite(func, renamed(new_name))
        analysis.request_await(node, f"`super().{new_name}()`")
