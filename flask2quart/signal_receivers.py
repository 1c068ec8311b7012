"""Test assertions inside signal receivers, which Quart turns into a 500 page the test ignores.

Flask lets a receiver's `AssertionError` escape the test client's request; Quart's test client
answers it with a traceback page instead, so the test passes whatever the receiver asserts.
The port records the receiver's calls during the block and replays them after it.
"""

from __future__ import annotations

import libcst as cst

from flask2quart.analysis import ModuleAnalysis
from flask2quart.names import SIGNALS
from flask2quart.plan import Rewrite
from flask2quart.scopes import find_nodes, name_nodes

_REPLAY_NAMES = ("args", "kwargs")


def on_with(analysis: ModuleAnalysis, node: cst.With) -> None:
    """`with signal.connected_to(check, app):` where `check` asserts: replay it afterwards."""
    if not analysis.is_test_module:
        return
    for item in node.items:
        receiver = _asserting_receiver(analysis, item.item, "connected_to")
        if receiver is None:
            continue
        obstacle = _replay_obstacle(analysis, node, receiver)
        if obstacle is None:
            analysis.plan.rewrite(node, _replayed(receiver.name.value))
        else:
            _report(analysis, item.item, receiver, obstacle)
        return


def on_call(analysis: ModuleAnalysis, node: cst.Call) -> None:
    """`signal.connect(check, app)` where `check` asserts: no block ends its calls, so report."""
    if analysis.is_test_module:
        receiver = _asserting_receiver(analysis, node, "connect")
        if receiver is not None:
            _report(analysis, node, receiver, "it is connected with `connect`, not in a `with`")


def _report(
    analysis: ModuleAnalysis, node: cst.CSTNode, receiver: cst.FunctionDef, obstacle: str
) -> None:
    analysis.report(
        node,
        "signal-receiver",
        f"`{receiver.name.value}` asserts inside a signal receiver; under Quart its failure "
        f"becomes a 500 page the test never sees, and the port cannot move it because "
        f"{obstacle}",
        "record what the receiver gets in a list and assert on the list after the request",
    )


def _asserting_receiver(
    analysis: ModuleAnalysis, expression: cst.BaseExpression, method: str
) -> cst.FunctionDef | None:
    """The function connected by `signal.<method>(receiver, ...)`, if it asserts."""
    if not (
        isinstance(expression, cst.Call)
        and isinstance(expression.func, cst.Attribute)
        and expression.func.attr.value == method
        and expression.args
    ):
        return None
    signal = analysis.parsed.framework_name(expression.func.value)
    if signal is None or signal.removeprefix("signals.") not in SIGNALS:
        return None
    receiver = expression.args[0].value
    if not isinstance(receiver, cst.Name):
        return None
    scope = analysis.frame.node if analysis.frame is not None else analysis.parsed.module
    definition = _function_named(scope, receiver.value)
    if definition is None or not find_nodes(
        definition.body, (cst.Assert, cst.Raise), nested=False
    ):
        return None
    return definition


def _replay_obstacle(
    analysis: ModuleAnalysis, node: cst.With, receiver: cst.FunctionDef
) -> str | None:
    """Why the receiver cannot run after the block instead of during it, or None."""
    if analysis.frame is None:
        return "the `with` is at module level"
    if len(node.items) != 1:
        return "the `with` holds more than the signal"
    if not all(_is_replayable(small) for small in _small_statements(receiver.body)):
        return "it does more than assert (it may feed the block it is connected in)"
    if any(analysis.parsed.framework_name(name) is not None for name in name_nodes(receiver.body)):
        return "it reads the request's context, which is gone after the block"
    used = {name.value for name in name_nodes(analysis.frame.node) if isinstance(name, cst.Name)}
    taken = {f"{receiver.name.value}_calls", *_REPLAY_NAMES} & used
    if taken:
        return f"the name `{min(taken)}` is taken in the test"
    return None


def _small_statements(body: cst.BaseSuite) -> list[cst.BaseSmallStatement | None]:
    """The body's simple statements; None stands for a compound one (`if`, `for` ...)."""
    if isinstance(body, cst.SimpleStatementSuite):
        return list(body.body)
    smalls: list[cst.BaseSmallStatement | None] = []
    for statement in body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            smalls.extend(statement.body)
        else:
            smalls.append(None)
    return smalls


def _is_replayable(small: cst.BaseSmallStatement | None) -> bool:
    """Asserts, raises, a docstring, `pass` and local assignments: nothing the block sees."""
    if isinstance(small, cst.Assert | cst.Raise | cst.Pass):
        return True
    if isinstance(small, cst.Expr):
        return isinstance(small.value, cst.SimpleString)
    return isinstance(small, cst.Assign) and all(
        isinstance(target.target, cst.Name) for target in small.targets
    )


def _replayed(receiver: str) -> Rewrite:
    """Record the receiver's arguments during the block; call it with each after the block."""
    calls = f"{receiver}_calls"

    def rewrite(updated: cst.CSTNode) -> cst.FlattenSentinel[cst.CSTNode]:
        assert isinstance(updated, cst.With)
        item = updated.items[0]
        call = item.item
        assert isinstance(call, cst.Call)
        recorder = cst.parse_expression(f"lambda *args, **kwargs: {calls}.append((args, kwargs))")
        arguments = [call.args[0].with_changes(value=recorder), *call.args[1:]]
        recording = updated.with_changes(
            items=[item.with_changes(item=call.with_changes(args=arguments))],
            leading_lines=[],
        )
        start = cst.parse_statement(f"{calls} = []\n").with_changes(
            leading_lines=updated.leading_lines
        )
        replay = cst.parse_statement(
            f"for args, kwargs in {calls}:\n    {receiver}(*args, **kwargs)\n"
        )
        return cst.FlattenSentinel([start, recording, replay])

    return rewrite


def _function_named(scope: cst.CSTNode, name: str) -> cst.FunctionDef | None:
    """The first function of that name defined in the scope's own body."""
    body = scope.body if isinstance(scope, cst.FunctionDef) else scope
    functions = find_nodes(body, (cst.FunctionDef,), nested=False)
    return next((function for function in functions if function.name.value == name), None)
