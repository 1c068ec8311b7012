"""Porting pytest suites: awaited client calls, Quart's request arguments and responses."""

from __future__ import annotations

import libcst as cst

from flask2quart.analysis import Frame, ModuleAnalysis
from flask2quart.index import is_upload_value
from flask2quart.names import (
    CLIENT_REQUEST_METHODS,
    FLASK_ONLY_CLIENT_ARGUMENTS,
    FLASK_ONLY_RESPONSE_ATTRIBUTES,
    RESPONSE_AWAITABLE_ATTRIBUTES,
    RESPONSE_AWAITABLE_METHODS,
)
from flask2quart.plan import Rewrite
from flask2quart.scopes import decorator_target

_BODY_LITERALS = (
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
)
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
        _port_request_arguments(analysis, node)
    elif method in _REQUEST_BUILDERS and (analysis.is_test_module or receiver_kind == "client"):
        _port_request_arguments(analysis, node)
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
    if len(node.items) != 1 or not isinstance(node.body, cst.IndentedBlock):
        return
    item = node.items[0].item
    if analysis.kind_of(item) == "response" and isinstance(item, cst.Call):
        analysis.plan.rewrite(node, _with_response_as_assignment)


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
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
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
        args=[cst.Arg(cst.Name("True"), keyword=cst.Name("as_text"), equal=_EQUAL)],
    )


_EQUAL = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def _port_request_arguments(analysis: ModuleAnalysis, node: cst.Call) -> None:
    """Flask's `data={...}` is Quart's `form=`/`files=`; `content_type=` goes into headers."""
    for argument in node.args:
        keyword = argument.keyword.value if argument.keyword is not None else None
        if keyword == "data":
            _port_data_argument(analysis, node, argument)
        elif keyword == "content_type":
            _port_content_type(analysis, node, argument)
        elif keyword in FLASK_ONLY_CLIENT_ARGUMENTS:
            analysis.report(
                argument,
                "client-argument",
                f"Quart's test client has no `{keyword}=` argument",
                FLASK_ONLY_CLIENT_ARGUMENTS[keyword],
            )


def _port_data_argument(analysis: ModuleAnalysis, node: cst.Call, argument: cst.Arg) -> None:
    value = argument.value
    if isinstance(value, _BODY_LITERALS) or _is_json_dumps(analysis, value):
        return
    if isinstance(value, cst.Call) and _is_file_fields_call(analysis, value):
        analysis.plan.rewrite(argument, _rename_keyword("files"))
        return
    if isinstance(value, cst.Dict):
        kinds = [_is_file_entry(analysis, element) for element in value.elements]
        if any(kinds):
            analysis.plan.rewrite(node, _split_files_rewrite(kinds))
            analysis.plan.imports.add(("quart.datastructures", "FileStorage"))
        else:
            analysis.plan.rewrite(argument, _rename_keyword("form"))
        return
    known = (
        analysis.frame.values.get(value.value)
        if analysis.frame and isinstance(value, cst.Name)
        else None
    )
    if _is_dict_call(analysis, value) or (
        isinstance(known, cst.Dict)
        and not any(_is_file_entry(analysis, element) for element in known.elements)
    ):
        analysis.plan.rewrite(argument, _rename_keyword("form"))
        return
    analysis.report(
        argument,
        "client-argument",
        "cannot tell whether this `data=` is a form dict, an upload or a raw body",
        "Quart's test client takes forms as `form={...}`, files as "
        "`files={'name': FileStorage(stream, filename=...)}` and raw bodies as `data=` str or "
        "bytes",
    )


def on_return(analysis: ModuleAnalysis, node: cst.Return) -> None:
    """A test helper returning `{"field": (stream, "name")}` now returns `FileStorage`s."""
    frame = analysis.frame
    value = node.value
    if (
        frame is None
        or frame.name not in analysis.index.file_field_functions
        or not isinstance(value, cst.Dict)
    ):
        return
    for element in value.elements:
        if isinstance(element, cst.DictElement) and isinstance(element.value, cst.Tuple):
            analysis.plan.rewrite(element, _as_file_storage)
            analysis.plan.imports.add(("quart.datastructures", "FileStorage"))


def _is_file_entry(analysis: ModuleAnalysis, element: cst.BaseDictElement) -> bool:
    if isinstance(element, cst.StarredDictElement):
        return isinstance(element.value, cst.Call) and _is_file_fields_call(
            analysis, element.value
        )
    return is_upload_value(element.value)


def _is_file_fields_call(analysis: ModuleAnalysis, value: cst.Call) -> bool:
    return bool(analysis.callees(value) & analysis.index.file_field_functions)


def _is_json_dumps(analysis: ModuleAnalysis, value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Call) and bool(
        analysis.parsed.qualified_names(value.func) & {"json.dumps"}
    )


def _is_dict_call(analysis: ModuleAnalysis, value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Call) and "builtins.dict" in analysis.parsed.qualified_names(
        value.func
    )


def _rename_keyword(keyword: str) -> Rewrite:
    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Arg)
        return updated.with_changes(keyword=cst.Name(keyword))

    return rewrite


def _split_files_rewrite(is_file: list[bool]) -> Rewrite:
    """Split `data={"f": (stream, "name"), "title": "x"}` into `files=` and `form=`."""

    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        keywords = [a.keyword.value if a.keyword else None for a in updated.args]
        position = keywords.index("data")
        argument = updated.args[position]
        data = argument.value
        assert isinstance(data, cst.Dict)
        entries = list(zip(data.elements, is_file, strict=True))
        files = [_file_storage_element(e) for e, upload in entries if upload]
        fields = [e for e, upload in entries if not upload]
        replacement = [argument.with_changes(keyword=cst.Name("files"), value=_dict(files))]
        if fields:
            replacement[0] = replacement[0].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                whitespace_after_arg=cst.SimpleWhitespace(""),
            )
            replacement.append(
                argument.with_changes(keyword=cst.Name("form"), value=_dict(fields))
            )
        arguments = [*updated.args[:position], *replacement, *updated.args[position + 1 :]]
        return updated.with_changes(args=arguments)

    return rewrite


def _is_multipart(argument: cst.Arg) -> bool:
    return isinstance(argument.value, cst.SimpleString) and str(
        argument.value.evaluated_value
    ).startswith("multipart/form-data")


def _without_multipart_content_type(updated: cst.CSTNode) -> cst.CSTNode:
    """Quart's client sets the multipart type (with its boundary) itself for `files=`."""
    assert isinstance(updated, cst.Call)
    arguments = [
        argument
        for argument in updated.args
        if not (
            argument.keyword is not None
            and argument.keyword.value == "content_type"
            and _is_multipart(argument)
        )
    ]
    arguments[-1] = arguments[-1].with_changes(comma=updated.args[-1].comma)
    return updated.with_changes(args=arguments)


def _dict(elements: list[cst.BaseDictElement]) -> cst.Dict:
    cleaned = [
        element.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        if index == len(elements) - 1
        else element.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        for index, element in enumerate(elements)
    ]
    return cst.Dict(elements=cleaned)


def _as_file_storage(node: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(node, cst.BaseDictElement)
    return _file_storage_element(node)


def _file_storage_element(element: cst.BaseDictElement) -> cst.BaseDictElement:
    if not (isinstance(element, cst.DictElement) and isinstance(element.value, cst.Tuple)):
        return element
    stream, filename, *content_type = (item.value for item in element.value.elements)
    arguments = [
        cst.Arg(stream),
        cst.Arg(filename, keyword=cst.Name("filename"), equal=_EQUAL),
    ]
    if content_type:
        arguments.append(cst.Arg(content_type[0], keyword=cst.Name("content_type"), equal=_EQUAL))
    return element.with_changes(value=cst.Call(func=cst.Name("FileStorage"), args=arguments))


def _port_content_type(analysis: ModuleAnalysis, node: cst.Call, argument: cst.Arg) -> None:
    if _is_multipart(argument):
        analysis.plan.rewrite(node, _without_multipart_content_type)
        return
    headers = next(
        (a for a in node.args if a.keyword is not None and a.keyword.value == "headers"), None
    )
    if headers is not None and not isinstance(headers.value, cst.Dict):
        analysis.report(
            argument,
            "client-argument",
            "Quart's test client has no `content_type=` argument",
            "add a `Content-Type` entry to `headers=`",
        )
        return
    analysis.plan.rewrite(node, _content_type_into_headers)


def _content_type_into_headers(updated: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(updated, cst.Call)
    arguments = list(updated.args)
    position = next(
        i for i, a in enumerate(arguments) if a.keyword and a.keyword.value == "content_type"
    )
    content_type = arguments[position]
    entry = cst.DictElement(cst.SimpleString('"Content-Type"'), content_type.value)
    for index, argument in enumerate(arguments):
        if argument.keyword is not None and argument.keyword.value == "headers":
            assert isinstance(argument.value, cst.Dict)
            elements = list(argument.value.elements)
            if elements:
                elements[-1] = elements[-1].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
            arguments[index] = argument.with_changes(
                value=argument.value.with_changes(elements=[*elements, entry])
            )
            del arguments[position]
            if position == len(arguments):
                arguments[-1] = arguments[-1].with_changes(comma=content_type.comma)
            return updated.with_changes(args=arguments)
    arguments[position] = content_type.with_changes(
        keyword=cst.Name("headers"), value=cst.Dict(elements=[entry])
    )
    return updated.with_changes(args=arguments)
