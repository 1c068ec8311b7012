"""Flask's test client arguments in Quart's terms: forms, uploads, raw bodies, content types."""

from __future__ import annotations

import libcst as cst

from flask2quart.analysis import ModuleAnalysis
from flask2quart.index import is_upload_value
from flask2quart.names import FLASK_ONLY_CLIENT_ARGUMENTS
from flask2quart.plan import Rewrite, renamed
from flask2quart.syntax import COMMA, keyword_argument, with_argument

_BODY_LITERALS = (
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
)


_ENCODERS = frozenset({"json.dumps", "urllib.parse.urlencode", "werkzeug.test.encode_multipart"})
# The boundary of multipart bodies the port encodes itself.
_BOUNDARY = "flask2quart"


def port_request_arguments(analysis: ModuleAnalysis, node: cst.Call) -> None:
    """Flask's `data={...}` is Quart's `form=`/`files=`; `content_type=` goes into headers."""
    encoded = _port_encoded_body(analysis, node)
    for argument in node.args:
        keyword = argument.keyword.value if argument.keyword is not None else None
        if keyword == "data" and not encoded:
            _port_data_argument(analysis, node, argument)
        elif keyword == "content_type" and not encoded:
            _port_content_type(analysis, node, argument)
        elif keyword in FLASK_ONLY_CLIENT_ARGUMENTS:
            analysis.report(
                argument,
                "client-argument",
                f"Quart's test client has no `{keyword}=` argument",
                FLASK_ONLY_CLIENT_ARGUMENTS[keyword],
            )


def _port_encoded_body(analysis: ModuleAnalysis, node: cst.Call) -> bool:
    """Several values under one name, which Quart's `form=` and `files=` cannot carry.

    Flask's client sends `{"photos": [(stream, "a.png"), (stream, "b.png")]}` as two files and
    `{"tag": ["a", "b"]}` as two fields; the port encodes such a body with what Flask's client
    uses (Werkzeug's `encode_multipart`, or `urlencode` with `doseq`) and sends it as `data=`.
    """
    arguments = {a.keyword.value: a for a in node.args if a.keyword is not None}
    data = arguments.get("data")
    if data is None or not isinstance(data.value, cst.Dict):
        return False
    values = [e.value for e in data.value.elements if isinstance(e, cst.DictElement)]
    lists = [value for value in values if isinstance(value, cst.List)]
    if not lists:
        return False
    multipart = any(
        is_upload_value(value)
        or (isinstance(value, cst.List) and any(is_upload_value(e.value) for e in value.elements))
        for value in values
    )
    analysis.plan.rewrite(node, _encoded_body(multipart=multipart))
    if multipart:
        analysis.plan.imports.add(("werkzeug.test", "encode_multipart"))
        analysis.plan.imports.add(("quart.datastructures", "FileStorage"))
    else:
        analysis.plan.imports.add(("urllib.parse", "urlencode"))
    return True


def _encoded_body(*, multipart: bool) -> Rewrite:
    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        arguments = [
            argument
            for argument in updated.args
            if not (argument.keyword is not None and argument.keyword.value == "content_type")
        ]
        arguments[-1] = arguments[-1].with_changes(comma=updated.args[-1].comma)
        position = next(
            i for i, a in enumerate(arguments) if a.keyword and a.keyword.value == "data"
        )
        data = arguments[position]
        assert isinstance(data.value, cst.Dict)
        encoded: cst.BaseExpression
        if multipart:
            fields = data.value.with_changes(
                elements=[_file_storage_element(e) for e in data.value.elements]
            )
            encoded = cst.Subscript(
                value=cst.Call(
                    func=cst.Name("encode_multipart"),
                    args=[
                        cst.Arg(fields, comma=COMMA),
                        keyword_argument("boundary", cst.SimpleString(f'"{_BOUNDARY}"')),
                    ],
                ),
                slice=[cst.SubscriptElement(cst.Index(cst.Integer("1")))],
            )
            content_type = f'"multipart/form-data; boundary={_BOUNDARY}"'
        else:
            encoded = cst.Call(
                func=cst.Name("urlencode"),
                args=[
                    cst.Arg(data.value, comma=COMMA),
                    keyword_argument("doseq", cst.Name("True")),
                ],
            )
            content_type = '"application/x-www-form-urlencoded"'
        arguments[position] = data.with_changes(value=encoded)
        call = with_argument(
            updated.with_changes(args=arguments),
            keyword_argument("content_type", cst.SimpleString(content_type)),
        )
        return _content_type_into_headers(call)

    return rewrite


def _port_data_argument(analysis: ModuleAnalysis, node: cst.Call, argument: cst.Arg) -> None:
    value = argument.value
    if isinstance(value, _BODY_LITERALS) or _is_encoded_body(analysis, value):
        return
    if isinstance(value, cst.Call) and _is_file_fields_call(analysis, value):
        analysis.plan.rewrite(argument, renamed("files"))
        return
    if isinstance(value, cst.Dict):
        kinds = [_is_file_entry(analysis, element) for element in value.elements]
        if any(kinds):
            analysis.plan.rewrite(node, _split_files_rewrite(kinds))
            analysis.plan.imports.add(("quart.datastructures", "FileStorage"))
        else:
            analysis.plan.rewrite(argument, renamed("form"))
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
        analysis.plan.rewrite(argument, renamed("form"))
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


def _is_encoded_body(analysis: ModuleAnalysis, value: cst.BaseExpression) -> bool:
    """`json.dumps(...)`, `urlencode(...)` or `encode_multipart(...)[1]`: bytes or text."""
    if isinstance(value, cst.Subscript):
        value = value.value
    return isinstance(value, cst.Call) and bool(
        analysis.parsed.qualified_names(value.func) & _ENCODERS
    )


def _is_dict_call(analysis: ModuleAnalysis, value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Call) and "builtins.dict" in analysis.parsed.qualified_names(
        value.func
    )


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
                comma=COMMA,
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
        else element.with_changes(comma=COMMA)
        for index, element in enumerate(elements)
    ]
    return cst.Dict(elements=cleaned)


def _as_file_storage(node: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(node, cst.BaseDictElement)
    return _file_storage_element(node)


def _file_storage_element(element: cst.BaseDictElement) -> cst.BaseDictElement:
    """`(stream, "name")` values, alone or in a list, as `FileStorage`s."""
    if not isinstance(element, cst.DictElement):
        return element
    value = element.value
    if isinstance(value, cst.List):
        items = [item.with_changes(value=_file_storage(item.value)) for item in value.elements]
        return element.with_changes(value=value.with_changes(elements=items))
    return element.with_changes(value=_file_storage(value))


def _file_storage(value: cst.BaseExpression) -> cst.BaseExpression:
    if not isinstance(value, cst.Tuple):
        return value
    stream, filename, *content_type = (item.value for item in value.elements)
    arguments = [cst.Arg(stream), keyword_argument("filename", filename)]
    if content_type:
        arguments.append(keyword_argument("content_type", content_type[0]))
    return cst.Call(func=cst.Name("FileStorage"), args=arguments)


def _port_content_type(analysis: ModuleAnalysis, node: cst.Call, argument: cst.Arg) -> None:
    if _is_multipart(argument):
        analysis.plan.rewrite(node, _without_multipart_content_type)
    else:
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
            headers = argument.value
            if isinstance(headers, cst.Dict):
                elements = list(headers.elements)
                if elements:
                    elements[-1] = elements[-1].with_changes(comma=COMMA)
                headers = headers.with_changes(elements=[*elements, entry])
            else:
                # `headers=self.auth_headers()`: a mapping the port cannot see into.
                headers = cst.Dict([cst.StarredDictElement(headers, comma=COMMA), entry])
            arguments[index] = argument.with_changes(value=headers)
            del arguments[position]
            if position == len(arguments):
                arguments[-1] = arguments[-1].with_changes(comma=content_type.comma)
            return updated.with_changes(args=arguments)
    arguments[position] = content_type.with_changes(
        keyword=cst.Name("headers"), value=cst.Dict(elements=[entry])
    )
    return updated.with_changes(args=arguments)
