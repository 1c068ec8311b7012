"""The walk over one module that lets each rule ask for awaits, async defs and findings."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from flask2quart.index import ProjectIndex
from flask2quart.names import (
    CLIENT_REQUEST_METHODS,
    COROUTINE_CONSUMER_METHODS,
    COROUTINE_CONSUMERS,
    FACTORY_METHOD_KINDS,
    SYNC_ONLY_DECORATORS,
    UNITTEST_CLASS_HOOKS,
)
from flask2quart.parsed import ParsedModule
from flask2quart.plan import Plan
from flask2quart.report import Finding
from flask2quart.scopes import ScopedVisitor, decorator_method, decorator_target, is_generator

_FILE_STORAGE = frozenset(
    {"werkzeug.datastructures.FileStorage", "quart.datastructures.FileStorage"}
)
_FIXTURE_DECORATORS = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})


@dataclass
class Frame:
    """What the analysis knows about one enclosing function."""

    node: cst.FunctionDef
    name: str
    owner: str | None
    blocker: str | None
    is_test: bool
    is_fixture: bool
    kinds: dict[str, str] = field(default_factory=dict)
    values: dict[str, cst.BaseExpression] = field(default_factory=dict)
    going_async: bool = False
    wrapped_parameter: str | None = None
    blocking_calls: list[tuple[cst.Call, str]] = field(default_factory=list)

    @property
    def is_async(self) -> bool:
        """Whether the function is async now or will be after this round."""
        return self.node.asynchronous is not None or self.going_async


class ModuleAnalysis(ScopedVisitor):
    """Walks a module once; rule modules hook into the visits and fill in the plan."""

    def __init__(self, parsed: ParsedModule, index: ProjectIndex, plan: Plan) -> None:
        super().__init__(parsed)
        self.index = index
        self.plan = plan
        self.frames: list[Frame] = []
        self.reported_session_vary = False

    # -- findings -------------------------------------------------------------------------

    def report(self, node: cst.CSTNode, rule: str, message: str, suggestion: str) -> None:
        """Record something left to the human, at the node's position."""
        line, column = self.parsed.line_and_column(node)
        self.plan.findings.append(
            Finding(self.parsed.display_path, line, column, rule, message, suggestion)
        )

    # -- frames ---------------------------------------------------------------------------

    @property
    def frame(self) -> Frame | None:
        """The innermost enclosing function's frame."""
        return self.frames[-1] if self.frames else None

    @property
    def is_test_module(self) -> bool:
        """Whether this module holds tests or fixtures."""
        return self.parsed.source.is_test

    def enter_function(self, node: cst.FunctionDef) -> None:
        owner = self.current_owner()
        is_fixture = any(
            self.parsed.qualified_names(decorator_target(decorator)) & _FIXTURE_DECORATORS
            for decorator in node.decorators
        )
        frame = Frame(
            node=node,
            name=self.definition_name(node),
            owner=self.definition_name(owner) if owner is not None else None,
            blocker=self._async_blocker(node, is_fixture=is_fixture),
            is_test=self._is_test_function(node, owner),
            is_fixture=is_fixture,
        )
        self._seed_parameter_kinds(frame)
        self.frames.append(frame)
        self.on_enter_function(frame)

    def leave_function(self, node: cst.FunctionDef) -> None:
        frame = self.frames.pop()
        self.on_leave_function(frame)
        if frame.going_async and node.asynchronous is None:
            self.plan.asyncs.add(node)

    def on_enter_function(self, frame: Frame) -> None:
        """Hook for the rules, called when a function's frame is pushed."""

    def on_leave_function(self, frame: Frame) -> None:
        """Hook for the rules, called when a function's frame is popped."""

    def _is_test_function(self, node: cst.FunctionDef, owner: cst.ClassDef | None) -> bool:
        if not self.is_test_module or not node.name.value.startswith("test"):
            return False
        if owner is not None:
            # unittest runs its own methods; pytest-asyncio's marks are for pytest's tests.
            is_unittest = self.index.unittest_root(self.definition_name(owner)) is not None
            return (
                owner.name.value.startswith("Test")
                and not is_unittest
                and len(self.functions) == 1
            )
        return len(self.functions) == 1

    def _async_blocker(self, node: cst.FunctionDef, *, is_fixture: bool) -> str | None:
        """Why the function cannot become async, or None if it can."""
        name = node.name.value
        if name.startswith("__") and name.endswith("__"):
            return f"`{name}` is a special method Python calls synchronously"
        if name in UNITTEST_CLASS_HOOKS and self.is_test_module:
            return f"unittest calls `{name}` synchronously"
        for decorator in node.decorators:
            method = decorator_method(decorator)
            if method in SYNC_ONLY_DECORATORS:
                return f"it is decorated with `@{method}`, which calls it synchronously"
        if not is_fixture and is_generator(node):
            return "it is a generator; an `await` would turn it into an async generator"
        return None

    def _seed_parameter_kinds(self, frame: Frame) -> None:
        parameters = frame.node.params
        for parameter in (
            *parameters.posonly_params,
            *parameters.params,
            *parameters.kwonly_params,
        ):
            name = parameter.name.value
            annotation = parameter.annotation
            if annotation is not None and (
                self.parsed.qualified_names(annotation.annotation) & _FILE_STORAGE
            ):
                frame.kinds[name] = "file"
            elif self.is_test_module and name in self.index.fixture_kinds:
                frame.kinds[name] = self.index.fixture_kinds[name]
            elif self.is_test_module and name in {"client", "runner"}:
                frame.kinds[name] = name

    # -- asking for awaits ----------------------------------------------------------------

    def make_async(self, frame: Frame) -> None:
        """Mark a function to become `async def` (the caller checked it may)."""
        frame.going_async = True

    def request_await(self, node: cst.BaseExpression, what: str) -> None:
        """Await the expression, making its function async, or report why that cannot be."""
        parent = self.parsed.parent(node)
        if isinstance(parent, cst.Await) or self._is_consumed_coroutine(node):
            return
        if self._await_context(node, what):
            self.plan.awaits.add(node)

    def request_async_with(self, node: cst.With, what: str) -> None:
        """Turn a `with` into `async with`, making its function async, or report."""
        if node.asynchronous is None and self._await_context(node, what):
            self.plan.asyncs.add(node)

    def _await_context(self, node: cst.CSTNode, what: str) -> bool:
        """Make room for an await at the node; report and return False where there is none."""
        frame = self.frame
        obstacle = self._expression_obstacle(node, frame.node if frame else None)
        if frame is None:
            obstacle = obstacle or "it is at module or class level"
        elif obstacle is None and frame.node.asynchronous is None and frame.blocker is not None:
            obstacle = f"`{frame.node.name.value}` cannot become async: {frame.blocker}"
        if obstacle is not None:
            self.report(
                node,
                "sync-caller",
                f"{what} must be awaited under Quart, but {obstacle}",
                "restructure so the call happens in an async function (a view, hook or "
                "`async def` helper); at start-up use `@app.before_serving`; keep what a CLI "
                "command calls synchronous (Quart runs app-context commands inside an event "
                "loop, where they can neither await nor call `asyncio.run`)",
            )
            return False
        assert frame is not None
        self.make_async(frame)
        return True

    def _expression_obstacle(
        self, node: cst.CSTNode, function: cst.FunctionDef | None
    ) -> str | None:
        current = self.parsed.parent(node)
        while current is not None and current is not function:
            if isinstance(current, cst.Lambda):
                return "it is inside a lambda"
            if isinstance(current, cst.GeneratorExp):
                return "it is inside a generator expression"
            if isinstance(current, cst.ClassDef):
                return "it is in a class body"
            current = self.parsed.parent(current)
        return None

    def _is_consumed_coroutine(self, node: cst.BaseExpression) -> bool:
        """`asyncio.create_task(work())` hands the coroutine over on purpose."""
        argument = self.parsed.parent(node)
        call = self.parsed.parent(argument) if isinstance(argument, cst.Arg) else None
        if not isinstance(call, cst.Call):
            return False
        if self.parsed.qualified_names(call.func) & COROUTINE_CONSUMERS:
            return True
        return (
            isinstance(call.func, cst.Attribute)
            and call.func.attr.value in COROUTINE_CONSUMER_METHODS
        )

    # -- kinds of values ------------------------------------------------------------------

    def kind_of(self, expression: cst.BaseExpression) -> str | None:
        """What a value is, as far as the rules care: client, response, file, instance:..."""
        while isinstance(expression, cst.Await):
            expression = expression.expression
        if isinstance(expression, cst.Name):
            for frame in reversed(self.frames):
                if expression.value in frame.kinds:
                    return frame.kinds[expression.value]
            return None
        if isinstance(expression, cst.Attribute):
            return self._attribute_kind(expression)
        if isinstance(expression, cst.Subscript):
            return "file" if self.kind_of(expression.value) == "file_dict" else None
        if isinstance(expression, cst.Call):
            return self._call_kind(expression)
        return None

    def _attribute_kind(self, expression: cst.Attribute) -> str | None:
        if self.parsed.framework_name(expression) == "request.files":
            return "file_dict"
        if not (
            isinstance(expression.value, cst.Name) and expression.value.value in {"self", "cls"}
        ):
            return None
        frame = self.frame
        if frame is not None and frame.owner is not None:
            kind = self.index.attribute_kind(frame.owner, expression.attr.value)
            if kind is not None:
                return kind
        if (
            self.is_test_module
            and expression.value.value == "self"
            and expression.attr.value.endswith("client")
        ):
            return "client"
        return None

    def _call_kind(self, expression: cst.Call) -> str | None:
        func = expression.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in FACTORY_METHOD_KINDS:
                return FACTORY_METHOD_KINDS[method]
            receiver = self.kind_of(func.value)
            if receiver == "client" and method in CLIENT_REQUEST_METHODS:
                return "response"
            if receiver == "file_dict":
                return {"get": "file", "getlist": "files", "values": "files"}.get(method)
        for name in sorted(self.callees(expression)):
            if name in self.index.classes:
                return f"instance:{name}"
            if name in self.index.return_kinds:
                return self.index.return_kinds[name]
        return None

    def callees(self, node: cst.Call) -> set[str]:
        """Fully qualified names the call may go to, methods of `self` and known instances too."""
        candidates = set(self.parsed.qualified_names(node.func))
        func = node.func
        kind = self.kind_of(func) if isinstance(func, cst.Name) else None
        if kind is not None and kind.startswith("function:"):
            # A fixture that returns a helper function (a "factory as fixture").
            candidates.add(kind.removeprefix("function:"))
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            receiver = func.value
            frame = self.frame
            if (
                isinstance(receiver, cst.Name)
                and receiver.value in {"self", "cls"}
                and frame is not None
                and frame.owner is not None
            ):
                candidates.update(
                    f"{owner}.{method}" for owner in self.index.ancestors(frame.owner)
                )
            kind = self.kind_of(receiver)
            if kind is not None and kind.startswith("instance:"):
                candidates.add(f"{kind.removeprefix('instance:')}.{method}")
        return candidates

    def bind(self, target: cst.BaseExpression, kind: str | None) -> None:
        """Remember the kind of a name assigned in the current function."""
        frame = self.frame
        if frame is not None and kind is not None and isinstance(target, cst.Name):
            frame.kinds[target.value] = kind

    def visit_Assign(self, node: cst.Assign) -> None:
        kind = self.kind_of(node.value)
        for target in node.targets:
            self.bind(target.target, kind)
            if self.frame is not None and isinstance(target.target, cst.Name):
                self.frame.values[target.target.value] = node.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.bind(node.target, self.kind_of(node.value))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.bind(node.target, self.kind_of(node.value))

    def visit_For(self, node: cst.For) -> None:
        if self.kind_of(node.iter) == "files":
            self.bind(node.target, "file")
