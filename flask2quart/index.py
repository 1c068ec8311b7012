"""Facts about the whole set of files that the per-file rules need (the call graph's edges)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import libcst as cst

from flask2quart.names import (
    BLOCKING_CALLS,
    BLOCKING_MODULES,
    CLIENT_REQUEST_METHODS,
    HOOK_METHODS,
    HOOK_REGISTRATION_ARGUMENT,
)
from flask2quart.parsed import ParsedModule
from flask2quart.scopes import ScopedVisitor, decorator_target

_APP_CONSTRUCTORS = frozenset({"Flask", "Quart", "Blueprint", "app.Flask", "blueprints.Blueprint"})


@dataclass
class Wrapper:
    """A `functools.wraps` wrapper inside a decorator, and the names the decorator is used by."""

    wrapped_parameter: str
    decorator_names: set[str]
    decorates_async: list[str] = field(default_factory=list)
    decorates_sync: list[str] = field(default_factory=list)


@dataclass
class ProjectIndex:
    """Cross-file facts, rebuilt from the current code at the start of every round."""

    async_functions: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    framework_objects: set[str] = field(default_factory=set)
    registered_hooks: set[str] = field(default_factory=set)
    wrappers: dict[str, Wrapper] = field(default_factory=dict)
    fixture_kinds: dict[str, str] = field(default_factory=dict)
    return_kinds: dict[str, str] = field(default_factory=dict)
    local_packages: set[str] = field(default_factory=set)
    file_field_functions: set[str] = field(default_factory=set)
    blocking: dict[str, str] = field(default_factory=dict)

    def async_wrappers(self) -> set[str]:
        """Wrappers that must become async because they decorate async functions."""
        return {name for name, wrapper in self.wrappers.items() if wrapper.decorates_async}


def build_index(modules: Iterable[ParsedModule]) -> ProjectIndex:
    """Collect the facts from every module, then close the blocking-call relation."""
    index = ProjectIndex()
    calls: dict[str, set[str]] = {}
    usages: list[tuple[set[str], str, bool]] = []
    collectors = []
    for parsed in modules:
        index.local_packages.add(parsed.source.module.name.partition(".")[0])
        collector = _FactCollector(parsed, index, calls, usages)
        parsed.module.visit(collector)
        collectors.append(collector)
    for collector in collectors:
        collector.resolve_returned_kinds()
    for names, decorated, decorated_is_async in usages:
        for wrapper in index.wrappers.values():
            if names & wrapper.decorator_names:
                target = wrapper.decorates_async if decorated_is_async else wrapper.decorates_sync
                target.append(decorated)
    _close_blocking(index, calls)
    return index


def _close_blocking(index: ProjectIndex, calls: dict[str, set[str]]) -> None:
    """A sync function blocks if it calls a blocking function; repeat until stable."""
    changed = True
    while changed:
        changed = False
        for caller, callees in calls.items():
            if caller in index.blocking:
                continue
            for callee in sorted(callees):
                if callee in index.blocking:
                    short = callee.rpartition(".")[2]
                    index.blocking[caller] = f"{short}() -> {index.blocking[callee]}"
                    changed = True
                    break


class _FactCollector(ScopedVisitor):
    def __init__(
        self,
        parsed: ParsedModule,
        index: ProjectIndex,
        calls: dict[str, set[str]],
        usages: list[tuple[set[str], str, bool]],
    ) -> None:
        super().__init__(parsed)
        self.index = index
        self.calls = calls
        self.usages = usages
        # (function, fixture name or None, returned value, the function's simple assignments)
        self.returns: list[
            tuple[str, str | None, cst.BaseExpression, dict[str, cst.BaseExpression]]
        ] = []
        self.local_values: list[dict[str, cst.BaseExpression]] = []
        self.fixture_names: list[str | None] = []

    def enter_function(self, node: cst.FunctionDef) -> None:
        name = self.definition_name(node)
        if node.asynchronous is not None:
            self.index.async_functions.add(name)
        else:
            self.calls.setdefault(name, set())
        for decorator in node.decorators:
            target = decorator_target(decorator)
            self.usages.append(
                (self.parsed.qualified_names(target), name, node.asynchronous is not None)
            )
            if self._is_wraps(decorator) and len(self.functions) >= 2:
                self._record_wrapper(node, decorator)
        self.local_values.append({})
        self.fixture_names.append(self._fixture_name(node))

    def leave_function(self, node: cst.FunctionDef) -> None:
        self.local_values.pop()
        self.fixture_names.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.index.classes.add(self.definition_name(node))
        return super().visit_ClassDef(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.local_values:
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.local_values[-1][target.target.value] = node.value
        elif isinstance(node.value, cst.Call) and (
            self.parsed.framework_name(node.value.func) in _APP_CONSTRUCTORS
        ):
            for target in node.targets:
                self.index.framework_objects.update(self.parsed.qualified_names(target.target))

    def visit_Return(self, node: cst.Return) -> None:
        self._record_returned_value(node.value)

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.BaseExpression):
            self._record_returned_value(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        callees = self.parsed.qualified_names(node.func) | self._method_callees(node.func)
        if self.functions and self.functions[-1].asynchronous is None:
            caller = self.definition_name(self.functions[-1])
            self.calls[caller].update(callees)
            blocking = _blocking_call(callees)
            if blocking is not None and caller not in self.index.blocking:
                self.index.blocking[caller] = blocking
        self._record_registration(node)

    def _method_callees(self, func: cst.BaseExpression) -> set[str]:
        """`self.open()` and `store.open()` after `store = UserStore(...)`: the method's name."""
        if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
            return set()
        receiver, method = func.value.value, func.attr.value
        owner = self.current_owner()
        if receiver in {"self", "cls"} and owner is not None:
            return {f"{self.definition_name(owner)}.{method}"}
        value = self.local_values[-1].get(receiver) if self.local_values else None
        if isinstance(value, cst.Call):
            return {f"{name}.{method}" for name in self.parsed.qualified_names(value.func)}
        return set()

    def _record_registration(self, node: cst.Call) -> None:
        """`app.teardown_appcontext(close_db)` and friends register hooks without decorators."""
        if not self.parsed.uses_framework:
            return
        function: cst.BaseExpression | None = None
        func = node.func
        if isinstance(func, cst.Call) and isinstance(func.func, cst.Attribute):
            if func.func.attr.value in HOOK_METHODS and node.args:
                function = node.args[0].value
        elif isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in HOOK_METHODS and node.args and node.args[0].keyword is None:
                function = node.args[0].value
            elif method in HOOK_REGISTRATION_ARGUMENT:
                position, keyword = HOOK_REGISTRATION_ARGUMENT[method]
                function = _argument(node, position, keyword)
        if function is not None:
            self.index.registered_hooks.update(self.parsed.qualified_names(function))

    def _is_wraps(self, decorator: cst.Decorator) -> bool:
        expression = decorator.decorator
        return (
            isinstance(expression, cst.Call)
            and "functools.wraps" in self.parsed.qualified_names(expression.func)
            and bool(expression.args)
            and isinstance(expression.args[0].value, cst.Name)
        )

    def _record_wrapper(self, node: cst.FunctionDef, decorator: cst.Decorator) -> None:
        call = decorator.decorator
        assert isinstance(call, cst.Call)
        parameter = call.args[0].value
        assert isinstance(parameter, cst.Name)
        # The decorator is the function holding the wrapper, or a factory holding that one.
        decorator_names = {self.definition_name(self.functions[-2])}
        if len(self.functions) >= 3:
            decorator_names.add(self.definition_name(self.functions[-3]))
        self.index.wrappers[self.definition_name(node)] = Wrapper(
            wrapped_parameter=parameter.value, decorator_names=decorator_names
        )

    def _fixture_name(self, node: cst.FunctionDef) -> str | None:
        for decorator in node.decorators:
            names = self.parsed.qualified_names(decorator_target(decorator))
            if names & {"pytest.fixture", "pytest_asyncio.fixture"}:
                expression = decorator.decorator
                if isinstance(expression, cst.Call):
                    for argument in expression.args:
                        if (
                            argument.keyword is not None
                            and argument.keyword.value == "name"
                            and isinstance(argument.value, cst.SimpleString)
                        ):
                            return str(argument.value.evaluated_value)
                return node.name.value
        return None

    def _record_returned_value(self, value: cst.BaseExpression | None) -> None:
        if value is None or not self.functions or not self.parsed.source.is_test:
            return
        function = self.definition_name(self.functions[-1])
        if isinstance(value, cst.Dict) and _is_upload_dict(value):
            self.index.file_field_functions.add(function)
        self.returns.append((function, self.fixture_names[-1], value, self.local_values[-1]))

    def resolve_returned_kinds(self) -> None:
        """Name the kind of object test helpers and fixtures return, where it can be seen."""
        for function, fixture, value, local_values in self.returns:
            kind = self._value_kind(value, local_values, depth=0)
            if kind is None:
                continue
            self.index.return_kinds.setdefault(function, kind)
            if fixture is not None:
                self.index.fixture_kinds.setdefault(fixture, kind)

    def _value_kind(
        self, value: cst.BaseExpression, local_values: dict[str, cst.BaseExpression], depth: int
    ) -> str | None:
        while isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Name) and value.value in local_values and depth < 5:
            return self._value_kind(local_values[value.value], local_values, depth + 1)
        if isinstance(value, cst.Call):
            func = value.func
            if isinstance(func, cst.Attribute) and func.attr.value == "test_client":
                return "client"
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in CLIENT_REQUEST_METHODS
                and _looks_like_client(func.value)
            ):
                return "response"
            for name in self.parsed.qualified_names(value.func):
                if name in self.index.classes:
                    return f"instance:{name}"
        return None


def _is_upload_dict(value: cst.Dict) -> bool:
    """`{"field": (stream, "name")}` (or already `FileStorage(...)`) in every entry."""
    elements = value.elements
    return bool(elements) and all(
        isinstance(element, cst.DictElement) and is_upload_value(element.value)
        for element in elements
    )


def is_upload_value(value: cst.BaseExpression) -> bool:
    """`(stream, "name"[, "type"])` as Flask's test client takes files, or a `FileStorage`."""
    if isinstance(value, cst.Tuple):
        return 2 <= len(value.elements) <= 3
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Name)
        and value.func.value == "FileStorage"
    )


def _looks_like_client(expression: cst.BaseExpression) -> bool:
    """`client`, `self._client`: test helpers name their test clients so."""
    if isinstance(expression, cst.Name):
        return expression.value.endswith("client")
    return isinstance(expression, cst.Attribute) and expression.attr.value.endswith("client")


def _argument(node: cst.Call, position: int, keyword: str) -> cst.BaseExpression | None:
    for argument in node.args:
        if argument.keyword is not None and argument.keyword.value == keyword:
            return argument.value
    positional = [argument for argument in node.args if argument.keyword is None]
    if len(positional) > position:
        return positional[position].value
    return None


def _blocking_call(names: set[str]) -> str | None:
    for name in sorted(names):
        if name in BLOCKING_CALLS or name.partition(".")[0] in BLOCKING_MODULES:
            return f"{name.removeprefix('builtins.')}()"
    return None
