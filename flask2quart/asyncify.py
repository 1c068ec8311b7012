"""Making views, hooks, wrapped decorators, tests and context managers async."""

from __future__ import annotations

import libcst as cst

from flask2quart.analysis import Frame, ModuleAnalysis
from flask2quart.names import ASYNC_CONTEXT_METHODS, HOOK_METHODS, METHOD_VIEW_METHODS
from flask2quart.scopes import decorator_target, is_generator

_VIEW_BASES = frozenset({"views.MethodView", "views.View"})


def on_enter_function(analysis: ModuleAnalysis, frame: Frame) -> None:
    """Views and hooks become async; so do `functools.wraps` wrappers around async views."""
    if _is_view_or_hook(analysis, frame):
        analysis.make_async(frame)
    wrapper = analysis.index.wrappers.get(frame.name)
    if wrapper is not None and wrapper.decorates_async:
        frame.wrapped_parameter = wrapper.wrapped_parameter
        if frame.node.asynchronous is None:
            analysis.make_async(frame)
        if wrapper.decorates_sync:
            analysis.report(
                frame.node,
                "mixed-decorator",
                f"`{frame.node.name.value}` now awaits the function it wraps, but it also "
                f"decorates synchronous functions: {', '.join(sorted(wrapper.decorates_sync))}",
                "make those functions async too, or keep a separate synchronous decorator",
            )


_ASYNC_ITERATOR_TYPES = {
    "Iterator": "AsyncIterator",
    "Iterable": "AsyncIterable",
    "Generator": "AsyncGenerator",
}
_TYPING_MODULES = frozenset({"typing", "collections.abc"})


def on_leave_function(analysis: ModuleAnalysis, frame: Frame) -> None:
    """A generator that becomes async needs `AsyncIterator[...]` instead of `Iterator[...]`."""
    node = frame.node
    if not frame.going_async or node.asynchronous is not None or node.returns is None:
        return
    annotation = node.returns.annotation
    if not isinstance(annotation, cst.Subscript) or not is_generator(node):
        return
    for name in analysis.parsed.qualified_names(annotation.value):
        module, _, short = name.rpartition(".")
        if module in _TYPING_MODULES and short in _ASYNC_ITERATOR_TYPES:
            analysis.plan.rewrite(annotation, _async_iterator_annotation)
            if isinstance(annotation.value, cst.Name):
                analysis.plan.imports.add((module, _ASYNC_ITERATOR_TYPES[short]))
            return


def _async_iterator_annotation(updated: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(updated, cst.Subscript)
    value = updated.value
    if isinstance(value, cst.Name):
        value = value.with_changes(value=_ASYNC_ITERATOR_TYPES[value.value])
    elif isinstance(value, cst.Attribute):
        value = value.with_changes(attr=cst.Name(_ASYNC_ITERATOR_TYPES[value.attr.value]))
    # Generator[Y, S, R] -> AsyncGenerator[Y, S]: async generators return nothing.
    elements = updated.slice[:2] if len(updated.slice) == 3 else updated.slice
    if len(elements) != len(updated.slice):
        elements = [*elements[:-1], elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    return updated.with_changes(value=value, slice=elements)


def on_call(analysis: ModuleAnalysis, node: cst.Call) -> None:
    """Inside an async wrapper, the wrapped view is a coroutine function: await it."""
    frame = analysis.frame
    if (
        frame is not None
        and frame.wrapped_parameter is not None
        and isinstance(node.func, cst.Name)
        and node.func.value == frame.wrapped_parameter
    ):
        analysis.request_await(node, f"the wrapped view `{frame.wrapped_parameter}()`")


def on_with(analysis: ModuleAnalysis, node: cst.With) -> None:
    """App contexts, request contexts, test clients and session transactions are async."""
    if node.asynchronous is not None:
        return
    needs_async = [_needs_async_with(analysis, item.item) for item in node.items]
    if not any(needs_async):
        return
    if not all(needs_async):
        analysis.report(
            node,
            "mixed-with",
            "this `with` mixes Quart's async context managers with synchronous ones",
            "split it into an `async with` and a nested `with`",
        )
        return
    analysis.request_async_with(node, "this context manager")


def _needs_async_with(analysis: ModuleAnalysis, item: cst.BaseExpression) -> bool:
    if analysis.kind_of(item) == "client" and not isinstance(item, cst.Call):
        return True
    if not (analysis.parsed.uses_framework or analysis.is_test_module):
        return False
    return (
        isinstance(item, cst.Call)
        and isinstance(item.func, cst.Attribute)
        and item.func.attr.value in ASYNC_CONTEXT_METHODS
    )


def on_with_item_bound(analysis: ModuleAnalysis, node: cst.With) -> None:
    """`with app.test_client() as client:` binds a client."""
    for item in node.items:
        if item.asname is not None:
            analysis.bind(item.asname.name, analysis.kind_of(item.item))


def _is_view_or_hook(analysis: ModuleAnalysis, frame: Frame) -> bool:
    if frame.name in analysis.index.registered_hooks:
        return True
    for decorator in frame.node.decorators:
        target = decorator_target(decorator)
        if isinstance(target, cst.Attribute) and target.attr.value in HOOK_METHODS:
            receiver = analysis.parsed.qualified_names(target.value)
            if analysis.parsed.uses_framework or receiver & analysis.index.framework_objects:
                return True
    owner = analysis.current_owner()
    if owner is not None and frame.node.name.value in METHOD_VIEW_METHODS:
        for base in owner.bases:
            if analysis.parsed.framework_name(base.value) in _VIEW_BASES:
                return True
    return False
