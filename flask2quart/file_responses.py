"""`send_file` and `send_from_directory`: Flask's argument names and defaults in Quart's terms."""

from __future__ import annotations

import libcst as cst

from flask2quart.analysis import ModuleAnalysis
from flask2quart.names import (
    FLASK_SEND_FILE_POSITIONS,
    SEND_FILE_KEYWORDS,
    SEND_FILE_STREAM_CALLS,
)
from flask2quart.plan import Rewrite
from flask2quart.syntax import TIGHT_EQUAL, keyword_argument, with_argument

# Positions Flask's and Quart's `send_file` share: the file, `mimetype`, `as_attachment` and
# the file name (`download_name` / `attachment_filename`).
_SHARED_POSITIONS = 4


def on_call(analysis: ModuleAnalysis, node: cst.Call) -> None:
    """Rename `download_name=`, `max_age=`, `etag=`; keep Flask's `conditional=True` default."""
    name = analysis.parsed.framework_name(node.func)
    if name not in {"send_file", "send_from_directory"} or any(a.star for a in node.args):
        return
    is_send_file = name == "send_file"
    arguments: dict[str, cst.Arg] = {}
    for position, argument in enumerate(node.args):
        if argument.keyword is not None:
            arguments[argument.keyword.value] = argument
        elif is_send_file and position < len(FLASK_SEND_FILE_POSITIONS):
            arguments[FLASK_SEND_FILE_POSITIONS[position]] = argument
    if not _portable(analysis, arguments):
        return
    add_conditional = is_send_file and "conditional" not in arguments
    moved = any(
        argument.keyword is None and position >= _SHARED_POSITIONS
        for position, argument in enumerate(node.args)
    )
    if add_conditional or moved or any(keyword in SEND_FILE_KEYWORDS for keyword in arguments):
        analysis.plan.rewrite(node, _quart_arguments(add_conditional=add_conditional))


def _portable(analysis: ModuleAnalysis, arguments: dict[str, cst.Arg]) -> bool:
    """Report what Quart's functions cannot take; True when the call can be rewritten."""
    etag = arguments.get("etag")
    if etag is not None and not (
        isinstance(etag.value, cst.Name) and etag.value.value in {"True", "False"}
    ):
        analysis.report(
            etag,
            "send-file",
            "Quart's `send_file` only turns ETags on or off (`add_etags=`); it cannot send a "
            "given ETag",
            "set it on the response: `response = await send_file(...)`, then "
            "`response.set_etag(value)`",
        )
        return False
    max_age = arguments.get("max_age")
    if max_age is not None and isinstance(max_age.value, cst.Lambda):
        analysis.report(
            max_age,
            "send-file",
            "Quart's `send_file` takes the cache time as a number (`cache_timeout=`), not a "
            "function",
            "compute the number first and pass it as `cache_timeout=`",
        )
        return False
    source = arguments.get("path_or_file")
    if (
        source is not None
        and isinstance(source.value, cst.Call)
        and analysis.parsed.qualified_names(source.value.func) & SEND_FILE_STREAM_CALLS
    ):
        analysis.report(
            source,
            "send-file",
            "Quart's `send_file` takes a path or an `io.BytesIO`, not an open file",
            "pass the file's path, or read the content into `io.BytesIO(...)`",
        )
        return False
    return True


def _quart_arguments(*, add_conditional: bool) -> Rewrite:
    def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(updated, cst.Call)
        arguments: list[cst.Arg] = []
        for position, argument in enumerate(updated.args):
            if argument.keyword is not None:
                keyword = SEND_FILE_KEYWORDS.get(argument.keyword.value)
                if keyword is not None:
                    argument = argument.with_changes(keyword=cst.Name(keyword))
            elif position >= _SHARED_POSITIONS:
                keyword = FLASK_SEND_FILE_POSITIONS[position]
                keyword = SEND_FILE_KEYWORDS.get(keyword, keyword)
                argument = argument.with_changes(keyword=cst.Name(keyword), equal=TIGHT_EQUAL)
            arguments.append(argument)
        call = updated.with_changes(args=arguments)
        if add_conditional:
            return with_argument(call, keyword_argument("conditional", cst.Name("True")))
        return call

    return rewrite
