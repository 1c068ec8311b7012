"""Porting pytest suites: awaited client calls, Quart's request arguments and responses."""

from __future__ import annotations

import libcst as cst

from flask2quart.analysis import Frame, ModuleAnalysis
from flask2quart.client_arguments import port_request_arguments
from flask2quart.names import (
    CLIENT_REQUEST_METHODS,
    FLASK_ONLY_RESPONSE_ATTRIBUTES,
    RESPONSE_AWAITABLE_ATTRIBUTES,
    RESPONSE_AWAITABLE_METHODS,
)
from flask2quart.plan import Rewrite
from flask2quart.scopes import decorator_target, name_nodes
from flask2quart.syntax import COMMA, keyword_argument

_REQUEST_BUILDERS = frozenset({"test_request_context", "session_transaction"})


def on_call(analysis: ModuleAnalysis, node: cst.Call) -> None:
    """Await client requests and response bodies; translate Flask-only request arguments."""
    func = node.func
    if not isinstance(func, cst.Attribute):
        return
    method = func.attr.value
    receiver_kind = analysis.kind_of(func.value)
    if receiver_kind == "client" and method in CLIENT_REQUEST_METHODS:
        analysis.request_await(node, f"the test client's `{method}()`")
        port_request_arguments(analysis, node)
    elif method in _REQUEST_BUILDERS and (analysis.is_test_module or receiver_kind == "client"):
        port_request_arguments(analysis, node)
    elif receiver_kind == "response" and method in RESPONSE_AWAITABLE_METHODS:
        analysis.request_await(node, f"`response.{method}()`")


def on_attribute(analysis: ModuleAnalysis, node: cst.Attribute) -> None:
    """`response.data`, `.json` and `.text` are awaitables in Quart's test responses."""
    attribute = node.attr.value
    if analysis.kind_of(node.value) != "response":
        return
    parent = analysis.parsed.parent(node)
    if isinstance(parent, cst.Call) and parent.func is node:
        return
    if attribute in RESPONSE_AWAITABLE_ATTRIBUTES:
        analysis.request_await(node, f"`response.{attribute}`")
    elif attribute == "text":
        analysis.plan.rewrite(node, _text_as_get_data)
        analysis.request_await(node, "`response.text`")
    elif attribute in FLASK_ONLY_RESPONSE_ATTRIBUTES:
        analysis.report(
            node,
            "response-attribute",
            f"Quart's test responses have no `.{attribute}`",
            "assert on the response itself (status, headers, body); for redirects request "
            "without `follow_redirects` and check `response.location`",
        )


def on_with(analysis: ModuleAnalysis, node: cst.With) -> None:
    """Flask responses are context managers, Quart's are not: bind the response instead."""
    _keep_app_context(analysis, node)
    if len(node.items) != 1 or not isinstance(node.body, cst.IndentedBlock):
        return
    item = node.items[0].item
    if analysis.kind_of(item) == "response" and isinstance(item, cst.Call):
        analysis.plan.rewrite(node, _with_response_as_assignment)


def _keep_app_context(analysis: ModuleAnalysis, node: cst.With) -> None:
    """`g` after a request in `with client:` needs an app context Quart's client keeps.

    Flask's client keeps the request's contexts after a request in `with client:`; Quart's
    keeps only the request context, so `g` is gone. A request made inside an app context
    uses that one, so the block pushes it: `async with client, client.app.app_context():`.
    """
    if not analysis.is_test_module or any(
        isinstance(item.item, cst.Call)
        and isinstance(item.item.func, cst.Attribute)
        and item.item.func.attr.value == "app_context"
        for item in node.items
    ):
        return
    reads_g = any(analysis.parsed.framework_name(name) == "g" for name in name_nodes(node.body))
    for position, item in enumerate(node.items):
        if reads_g and analysis.kind_of(item.item) == "client":
            client = item.asname.name if item.asname is not None else item.item
            if isinstance(client, cst.Name | cst.Attribute):
                analysis.plan.rewrite(node, _with_app_context(position, client))
            return


def _with_app_context(position: int, client: cst.BaseExpression) -> Rewrite:
    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.With)
        items = list(updated.items)
        context = cst.WithItem(
            cst.Call(
                func=cst.Attribute(cst.Attribute(client, cst.Name("app")), cst.Name("app_context"))
            ),
            comma=items[position].comma,
        )
        items[position] = items[position].with_changes(comma=COMMA)
        items.insert(position + 1, context)
        return updated.with_changes(items=items)

    return rewrite


def _with_response_as_assignment(updated: cst.CSTNode) -> cst.FlattenSentinel[cst.CSTNode]:
    assert isinstance(updated, cst.With) and isinstance(updated.body, cst.IndentedBlock)
    item = updated.items[0]
    statement: cst.BaseSmallStatement
    if item.asname is not None and isinstance(item.asname.name, cst.Name):
        statement = cst.Assign(targets=[cst.AssignTarget(item.asname.name)], value=item.item)
    else:
        statement = cst.Expr(item.item)
    first = cst.SimpleStatementLine(body=[statement], leading_lines=updated.leading_lines)
    return cst.FlattenSentinel([first, *updated.body.body])


def on_cookie_call(analysis: ModuleAnalysis, node: cst.Call) -> None:
    """Quart's `set_cookie`/`delete_cookie` take the server name first; Flask's a `domain=`."""
    func = node.func
    if not (
        isinstance(func, cst.Attribute)
        and func.attr.value in {"set_cookie", "delete_cookie"}
        and analysis.kind_of(func.value) == "client"
    ):
        return
    positional = [argument for argument in node.args if argument.keyword is None]
    keywords = {argument.keyword.value for argument in node.args if argument.keyword}
    flask_shaped = len(positional) == 1 or (
        func.attr.value == "set_cookie" and len(positional) == 2 and "value" not in keywords
    )
    if flask_shaped and not any(a.star for a in node.args):
        analysis.plan.rewrite(node, _server_name_first)


def _server_name_first(updated: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(updated, cst.Call) and isinstance(updated.func, cst.Attribute)
    server_name: cst.BaseExpression = cst.SimpleString('"localhost"')
    arguments: list[cst.Arg] = []
    for argument in updated.args:
        keyword = argument.keyword.value if argument.keyword else None
        if keyword == "domain":
            server_name = argument.value
        elif keyword != "origin_only":
            arguments.append(argument)
    comma = COMMA
    arguments = [cst.Arg(server_name, comma=comma), *arguments]
    positional = [argument for argument in arguments if argument.keyword is None]
    if len(positional) == 2 and (updated.func.attr.value == "set_cookie"):
        # Spell the empty value out: two positionals would read as Flask's (key, value).
        arguments.insert(2, cst.Arg(cst.SimpleString('""'), comma=comma))
    arguments = [argument.with_changes(comma=comma) for argument in arguments]
    arguments[-1] = arguments[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return updated.with_changes(args=arguments)


def on_leave_function(analysis: ModuleAnalysis, frame: Frame) -> None:
    """In pytest-asyncio's strict mode, async tests need a mark and async fixtures theirs."""
    node = frame.node
    if not frame.going_async or node.asynchronous is not None:
        return
    if analysis.parsed.source.asyncio_mode != "strict":
        return
    if frame.is_test and not _has_asyncio_mark(node):
        analysis.plan.rewrite(node, _add_asyncio_mark)
        analysis.plan.imports.add(("pytest", None))
    elif frame.is_fixture:
        for decorator in node.decorators:
            target = decorator_target(decorator)
            if "pytest.fixture" in analysis.parsed.qualified_names(target):
                analysis.plan.rewrite(target, _as_asyncio_fixture)
                analysis.plan.imports.add(("pytest_asyncio", None))


def _has_asyncio_mark(node: cst.FunctionDef) -> bool:
    return any(
        "pytest.mark.asyncio" in cst.Module([]).code_for_node(decorator.decorator)
        for decorator in node.decorators
    )


def _add_asyncio_mark(updated: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(updated, cst.FunctionDef)
    mark = cst.Decorator(decorator=cst.parse_expression("pytest.mark.asyncio"))
    return updated.with_changes(decorators=[mark, *updated.decorators])


def _as_asyncio_fixture(updated: cst.CSTNode) -> cst.CSTNode:
    return cst.parse_expression("pytest_asyncio.fixture")


def _text_as_get_data(updated: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(updated, cst.Attribute)
    return cst.Call(
        func=updated.with_changes(attr=cst.Name("get_data")),
        args=[keyword_argument("as_text", cst.Name("True"))],
    )
