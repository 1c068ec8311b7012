"""Reporting what the port leaves to the human: extensions, streams, threads, blocking I/O."""

from __future__ import annotations

import libcst as cst
from libcst.helpers import get_full_name_for_node

from flask2quart.analysis import Frame, ModuleAnalysis
from flask2quart.awaitables import project_async_callee
from flask2quart.imports import is_private, no_counterpart_advice
from flask2quart.index import blocking_call
from flask2quart.names import (
    EXTENSION_COUNTERPARTS,
    EXTENSION_FALLBACK,
    FIRST_REQUEST_HOOKS,
    FLASK_RUN_ARGUMENTS,
    QUART_RUN_ARGUMENTS,
    THREAD_CALLS,
)


def on_import(analysis: ModuleAnalysis, node: cst.Import | cst.ImportFrom) -> None:
    """Flask extensions have to be replaced by hand."""
    if isinstance(node, cst.ImportFrom):
        if node.relative or node.module is None:
            return
        modules = [get_full_name_for_node(node.module) or ""]
    else:
        modules = [get_full_name_for_node(alias.name) or "" for alias in node.names]
    for module in modules:
        extension = _extension(module)
        if extension is not None:
            analysis.report(
                node,
                "extension",
                f"Flask extension `{extension}` does not work with Quart",
                f"replace it with {EXTENSION_COUNTERPARTS.get(extension, EXTENSION_FALLBACK)}",
            )


def _extension(module: str) -> str | None:
    if module.startswith("flask.ext."):
        return "flask_" + module.removeprefix("flask.ext.").partition(".")[0]
    head = module.partition(".")[0]
    return head if head.startswith("flask_") else None


def on_attribute(analysis: ModuleAnalysis, node: cst.Attribute) -> None:
    """`request.stream`, the first-request hooks and Flask's internals have no Quart twin."""
    name = analysis.parsed.framework_name(node)
    if name is not None and name == node.attr.value and is_private(name):
        analysis.report(
            node,
            "no-counterpart",
            f"`{name}` is internal to Flask and Quart has no counterpart",
            no_counterpart_advice(name),
        )
    if name == "request.stream":
        analysis.report(
            node,
            "request-stream",
            "Quart requests have no `stream`",
            "iterate the body as it arrives: `async for chunk in request.body: ...`",
        )
    if node.attr.value in FIRST_REQUEST_HOOKS and analysis.parsed.uses_framework:
        analysis.report(
            node,
            "before-first-request",
            f"`{node.attr.value}` was removed from Flask 2.3 and Quart does not have it",
            "run one-off start-up work in an `@app.before_serving` function (it runs before "
            "the first request, without a request context)",
        )


def on_name_use(analysis: ModuleAnalysis, node: cst.Name | cst.Attribute) -> None:
    """`stream_with_context` wraps sync generators in Flask; Quart's wants async ones."""
    name = analysis.parsed.framework_name(node)
    if name == "session":
        _report_session_reads(analysis, node)
    if name != "stream_with_context":
        return
    if isinstance(analysis.parsed.parent(node), cst.ImportAlias | cst.Attribute):
        return
    analysis.report(
        node,
        "stream-with-context",
        "`stream_with_context` needs an async generator under Quart",
        "make the generator `async def`, decorate it with `@stream_with_context`, await inside "
        "it as needed and return `generator()` from the view",
    )


def _report_session_reads(analysis: ModuleAnalysis, node: cst.Name | cst.Attribute) -> None:
    """Flask 3.1 adds `Vary: Cookie` when a request touched the session; Quart only on writes."""
    if analysis.is_test_module or analysis.reported_session_vary:
        return
    analysis.reported_session_vary = True
    analysis.report(
        node,
        "session-vary",
        "Quart does not mark the session accessed when a request only reads it, so such "
        "responses go out without the `Vary: Cookie` Flask adds (a shared cache could serve "
        "one user's page to another)",
        "set `session_class` on the session interface to a `quart.sessions.SecureCookieSession` "
        "subclass whose `__getitem__`, `get` and `__contains__` set `self.accessed = True`",
    )


def on_call(analysis: ModuleAnalysis, node: cst.Call) -> None:
    """`app.run` options, `from_prefixed_env`, threads, and blocking calls in async code."""
    func = node.func
    if isinstance(func, cst.Attribute):
        if func.attr.value == "run" and _is_application(analysis, func.value):
            _report_run_arguments(analysis, node)
        elif (
            func.attr.value == "from_prefixed_env"
            and analysis.parsed.uses_framework
            and not node.args
        ):
            analysis.report(
                node,
                "prefixed-env",
                "Quart's `from_prefixed_env()` reads `QUART_*` variables, not `FLASK_*`",
                'pass `prefix="FLASK"` to keep reading the old variables, or rename them',
            )
    if analysis.is_test_module:
        return
    names = analysis.parsed.qualified_names(func)
    if names & THREAD_CALLS:
        analysis.report(
            node,
            "thread",
            f"`{min(names & THREAD_CALLS)}` runs work outside the event loop",
            "use `app.add_background_task(...)` or `asyncio.create_task(...)` for async work, "
            "and `await asyncio.to_thread(...)` (or `quart.utils.run_sync`) for blocking work",
        )
    frame = analysis.frame
    if frame is not None:
        blocking = _blocking_description(analysis, names)
        if blocking is not None and project_async_callee(analysis, node) is None:
            frame.blocking_calls.append((node, blocking))


def on_leave_function(analysis: ModuleAnalysis, frame: Frame) -> None:
    """Blocking calls matter once the function runs on the event loop."""
    if not frame.is_async:
        return
    for call, blocking in frame.blocking_calls:
        analysis.report(
            call,
            "blocking-io",
            f"`{frame.node.name.value}` is async but calls {blocking}, which blocks the event "
            "loop",
            "use an async library (aiosqlite, aiofiles, httpx.AsyncClient, asyncio.sleep) or "
            "`await asyncio.to_thread(...)` / `quart.utils.run_sync(...)`",
        )


def _blocking_description(analysis: ModuleAnalysis, names: set[str]) -> str | None:
    library_call = blocking_call(names)
    if library_call is not None:
        return f"`{library_call}`"
    for name in sorted(names):
        if name in analysis.index.blocking:
            return f"`{name.rpartition('.')[2]}()` (-> {analysis.index.blocking[name]})"
    return None


def _is_application(analysis: ModuleAnalysis, receiver: cst.BaseExpression) -> bool:
    names = analysis.parsed.qualified_names(receiver)
    if names & analysis.index.framework_objects:
        return True
    return (
        analysis.parsed.uses_framework
        and isinstance(receiver, cst.Name)
        and receiver.value in {"app", "application"}
    )


def _report_run_arguments(analysis: ModuleAnalysis, node: cst.Call) -> None:
    for argument in node.args:
        if argument.keyword is None:
            continue
        keyword = argument.keyword.value
        if keyword in QUART_RUN_ARGUMENTS:
            continue
        analysis.report(
            argument,
            "app-run",
            f"Quart's `app.run` has no `{keyword}=` (it serves with Hypercorn)",
            FLASK_RUN_ARGUMENTS.get(
                keyword, "set the equivalent Hypercorn option (`hypercorn --help`)"
            ),
        )
