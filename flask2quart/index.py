"""Facts about the whole set of files that the per-file rules need (the call graph's edges)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import libcst as cst

from flask2quart.names import (
    BLOCKING_CALLS,
    BLOCKING_MODULE_ALIASES,
    BLOCKING_MODULES,
    CLIENT_REQUEST_METHODS,
    FACTORY_METHOD_KINDS,
    HOOK_METHODS,
    HOOK_REGISTRATION_ARGUMENT,
    UNITTEST_CASES,
)
from flask2quart.parsed import ParsedModule
from flask2quart.scopes import ScopedVisitor, decorator_target, find_nodes

_APP_CONSTRUCTORS = frozenset({"Flask", "Quart", "Blueprint", "app.Flask", "blueprints.Blueprint"})


@dataclass
class Wrapper:
    """A decorator's inner function that calls the decorated one, and the decorator's names."""

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
    # `Class.attribute` -> kind, from `self.attribute = ...` in the class's methods.
    attribute_kinds: dict[str, str] = field(default_factory=dict)
    class_bases: dict[str, set[str]] = field(default_factory=dict)
    classes_with_async_methods: set[str] = field(default_factory=set)
    app_groups: set[str] = field(default_factory=set)

    def ancestors(self, class_name: str) -> list[str]:
        """The class and the classes it derives from, nearest first (project or not)."""
        found: list[str] = []
        pending = [class_name]
        while pending:
            current = pending.pop(0)
            if current not in found:
                found.append(current)
                pending.extend(sorted(self.class_bases.get(current, ())))
        return found

    def unittest_root(self, class_name: str) -> str | None:
        """The class in `class_name`'s ancestry that derives from a unittest case directly."""
        for ancestor in self.ancestors(class_name):
            if self.class_bases.get(ancestor, set()) & UNITTEST_CASES:
                return ancestor
        return None

    def attribute_kind(self, class_name: str, attribute: str) -> str | None:
        """The kind of `self.attribute` in a method of the class, set there or in a base."""
        for owner in self.ancestors(class_name):
            kind = self.attribute_kinds.get(f"{owner}.{attribute}")
            if kind is not None:
                return kind
        return None

    def unittest_roots_going_async(self) -> set[str]:
        """Root test cases with an async method in themselves or a subclass."""
        roots = (self.unittest_root(name) for name in self.classes_with_async_methods)
        return {root for root in roots if root is not None}

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
    # A helper may return what another helper returns: repeat until no kind is learnt.
    while any([collector.resolve_returned_kinds() for collector in collectors]):
        pass
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
        # (function, fixture name or None, returned value, where it is returned)
        self.returns: list[tuple[str, str | None, cst.BaseExpression, _Where]] = []
        # (`Class.attribute`, assigned value, where it is assigned)
        self.attributes: list[tuple[str, cst.BaseExpression, _Where]] = []
        self.local_values: list[dict[str, cst.BaseExpression]] = []
        # Functions defined in each enclosing function, by name: a fixture may return one.
        self.local_functions: list[dict[str, str]] = []
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
            if _is_group_decorator(self.parsed.qualified_names(target), target, self.index):
                self.index.app_groups.add(name)
        if len(self.functions) >= 2:
            wrapped = self._wrapped_parameter(node)
            if wrapped is not None:
                self._record_wrapper(node, wrapped)
        owner = self.current_owner()
        if node.asynchronous is not None and owner is not None:
            self.index.classes_with_async_methods.add(self.definition_name(owner))
        if self.local_functions:
            self.local_functions[-1][node.name.value] = name
        self.local_values.append({})
        self.local_functions.append({})
        self.fixture_names.append(self._fixture_name(node))

    def leave_function(self, node: cst.FunctionDef) -> None:
        self.local_values.pop()
        self.local_functions.pop()
        self.fixture_names.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        name = self.definition_name(node)
        self.index.classes.add(name)
        self.index.class_bases[name] = {
            base for argument in node.bases for base in self.parsed.qualified_names(argument.value)
        }
        return super().visit_ClassDef(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.local_values:
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.local_values[-1][target.target.value] = node.value
                self._record_attribute_value(target.target, node.value)
        elif isinstance(node.value, cst.Call):
            constructor = self.parsed.framework_name(node.value.func)
            for target in node.targets:
                names = self.parsed.qualified_names(target.target)
                if constructor in _APP_CONSTRUCTORS:
                    self.index.framework_objects.update(names)
                elif constructor == "cli.AppGroup":
                    self.index.app_groups.update(names)

    def _record_attribute_value(
        self, target: cst.BaseExpression, value: cst.BaseExpression
    ) -> None:
        """`self.client = app.test_client()` (or `cls.`) in a method: its kind, for later."""
        owner = self.current_owner()
        if (
            owner is not None
            and isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value in {"self", "cls"}
        ):
            attribute = f"{self.definition_name(owner)}.{target.attr.value}"
            self.attributes.append((attribute, value, self._where()))

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
            blocking = blocking_call(callees)
            if blocking is not None and caller not in self.index.blocking:
                self.index.blocking[caller] = blocking
        self._record_registration(node)

    def _method_callees(self, func: cst.BaseExpression) -> set[str]:
        return self._method_names(func, self._where())

    def _method_names(self, func: cst.BaseExpression, where: _Where) -> set[str]:
        """`self.open()` and `store.open()` after `store = UserStore(...)`: the method's name."""
        if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
            return set()
        receiver, method = func.value.value, func.attr.value
        if receiver in {"self", "cls"} and where.owner is not None:
            return {f"{owner}.{method}" for owner in self.index.ancestors(where.owner)}
        value = where.local_values.get(receiver)
        if isinstance(value, cst.Call):
            return {f"{name}.{method}" for name in self.parsed.qualified_names(value.func)}
        return set()

    def _where(self) -> _Where:
        owner = self.current_owner()
        return _Where(
            owner=self.definition_name(owner) if owner is not None else None,
            local_values=self.local_values[-1] if self.local_values else {},
            functions=self.local_functions[-1] if self.local_functions else {},
        )

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

    def _wrapped_parameter(self, node: cst.FunctionDef) -> str | None:
        """The enclosing decorator's parameter this inner function calls, if it is its wrapper.

        With `functools.wraps(view)` that is `view`; without it (old code copies `__name__` by
        hand), the inner function must call one of the decorator's parameters and the
        decorator must return the inner function.
        """
        for decorator in node.decorators:
            expression = decorator.decorator
            if (
                isinstance(expression, cst.Call)
                and "functools.wraps" in self.parsed.qualified_names(expression.func)
                and expression.args
                and isinstance(expression.args[0].value, cst.Name)
            ):
                return expression.args[0].value.value
        decorator_function = self.functions[-2]
        if not _returns_name(decorator_function, node.name.value):
            return None
        parameters = {
            parameter.name.value
            for parameter in (
                *decorator_function.params.posonly_params,
                *decorator_function.params.params,
            )
        }
        called = _called_names(node)
        candidates = sorted(parameters & called)
        return candidates[0] if len(candidates) == 1 else None

    def _record_wrapper(self, node: cst.FunctionDef, parameter: str) -> None:
        # The decorator is the function holding the wrapper, or a factory holding that one.
        decorator_names = {self.definition_name(self.functions[-2])}
        if len(self.functions) >= 3:
            decorator_names.add(self.definition_name(self.functions[-3]))
        self.index.wrappers[self.definition_name(node)] = Wrapper(
            wrapped_parameter=parameter, decorator_names=decorator_names
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
        self.returns.append((function, self.fixture_names[-1], value, self._where()))

    def resolve_returned_kinds(self) -> bool:
        """Name the kind of object helpers, fixtures and `self.` attributes hold; True if new."""
        learnt = False
        for function, fixture, value, where in self.returns:
            kind = self._value_kind(value, where, depth=0)
            if kind is None or function in self.index.return_kinds:
                continue
            learnt = True
            self.index.return_kinds[function] = kind
            if fixture is not None:
                self.index.fixture_kinds.setdefault(fixture, kind)
        for attribute, value, where in self.attributes:
            kind = self._value_kind(value, where, depth=0)
            if kind is not None and attribute not in self.index.attribute_kinds:
                learnt = True
                self.index.attribute_kinds[attribute] = kind
        return learnt

    def _value_kind(self, value: cst.BaseExpression, where: _Where, depth: int) -> str | None:
        while isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Name) and value.value in where.functions:
            return f"function:{where.functions[value.value]}"
        if isinstance(value, cst.Name) and value.value in where.local_values and depth < 5:
            return self._value_kind(where.local_values[value.value], where, depth + 1)
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        if isinstance(func, cst.Attribute):
            if func.attr.value in FACTORY_METHOD_KINDS:
                return FACTORY_METHOD_KINDS[func.attr.value]
            if func.attr.value in CLIENT_REQUEST_METHODS and self._is_client(func.value, where):
                return "response"
        for name in sorted(self.parsed.qualified_names(func) | self._method_names(func, where)):
            if name in self.index.classes:
                return f"instance:{name}"
            if name in self.index.return_kinds:
                return self.index.return_kinds[name]
        return None

    def _is_client(self, expression: cst.BaseExpression, where: _Where) -> bool:
        """`client`, `self._client`, or `self.app` holding a test client."""
        return _looks_like_client(expression) or (
            isinstance(expression, cst.Attribute)
            and isinstance(expression.value, cst.Name)
            and expression.value.value == "self"
            and where.owner is not None
            and self.index.attribute_kind(where.owner, expression.attr.value) == "client"
        )


@dataclass(frozen=True)
class _Where:
    """The class and the simple assignments around a value, to tell its kind later."""

    owner: str | None
    local_values: dict[str, cst.BaseExpression]
    functions: dict[str, str]


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


def blocking_call(names: set[str]) -> str | None:
    """The blocking library call (`sqlite3.connect()`) among a call's possible names, if any."""
    for name in sorted(names):
        module, _, function = name.rpartition(".")
        for alias, canonical in BLOCKING_MODULE_ALIASES.items():
            if module == alias or module.startswith(f"{alias}."):
                name = f"{canonical}{module.removeprefix(alias)}.{function}"
        if name in BLOCKING_CALLS or name.partition(".")[0] in BLOCKING_MODULES:
            return f"{name.removeprefix('builtins.')}()"
    return None


def _is_group_decorator(names: set[str], target: cst.BaseExpression, index: ProjectIndex) -> bool:
    """`@app.cli.group()` or `@group.group()`: the function becomes a group of commands."""
    if not isinstance(target, cst.Attribute) or target.attr.value != "group":
        return False
    receiver = target.value
    if isinstance(receiver, cst.Attribute) and receiver.attr.value == "cli":
        return True
    return bool({name.rpartition(".")[0] for name in names} & index.app_groups)


def _returns_name(function: cst.FunctionDef, name: str) -> bool:
    """Whether the function's own body has `return name`."""
    return any(
        isinstance(statement, cst.SimpleStatementLine)
        and any(
            isinstance(small, cst.Return)
            and isinstance(small.value, cst.Name)
            and small.value.value == name
            for small in statement.body
        )
        for statement in function.body.body
    )


def _called_names(function: cst.FunctionDef) -> set[str]:
    """Plain names the function calls (`view(...)`), nested functions excluded."""
    calls = find_nodes(function.body, (cst.Call,), nested=False)
    return {call.func.value for call in calls if isinstance(call.func, cst.Name)}
