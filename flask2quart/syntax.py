"""Small pieces of syntax the rewrites build, spaced as PEP 8 and ruff format want."""

from __future__ import annotations

import libcst as cst

COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


TIGHT_EQUAL = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def keyword_argument(keyword: str, value: cst.BaseExpression) -> cst.Arg:
    """`keyword=value`, spaced as PEP 8 wants."""
    return cst.Arg(value, keyword=cst.Name(keyword), equal=TIGHT_EQUAL)


def with_argument(call: cst.Call, argument: cst.Arg) -> cst.Call:
    """The call with one more argument at the end, laid out like the others.

    The new argument takes the last one's comma (a trailing comma stays trailing) and the last
    takes its neighbour's, so a call written one argument per line stays so.
    """
    arguments = list(call.args)
    if not arguments:
        return call.with_changes(args=[argument])
    last = arguments[-1]
    arguments[-1] = last.with_changes(comma=arguments[-2].comma if len(arguments) > 1 else COMMA)
    return call.with_changes(args=[*arguments, argument.with_changes(comma=last.comma)])
