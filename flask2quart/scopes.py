"""A visitor base that knows which functions and classes enclose the node it is at."""

from __future__ import annotations

from typing import TypeVar, cast

import libcst as cst

from flask2quart.parsed import ParsedModule


class ScopedVisitor(cst.CSTVisitor):
    """Keeps stacks of enclosing functions and classes while walking a parsed module."""

    def __init__(self, parsed: ParsedModule) -> None:
        super().__init__()
        self.parsed = parsed
        self.functions: list[cst.FunctionDef] = []
        self.classes: list[cst.ClassDef] = []
        # The class that directly holds each function on the stack (None if it is not a method).
        self.owners: list[cst.ClassDef | None] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        parent = self.parsed.parent(self.parsed.parent(node) or node)
        owner = parent if isinstance(parent, cst.ClassDef) else None
        self.functions.append(node)
        self.owners.append(owner)
        self.enter_function(node)
        return True

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.leave_function(original_node)
        self.functions.pop()
        self.owners.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.classes.append(node)
        return True

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    def enter_function(self, node: cst.FunctionDef) -> None:
        """Hook for subclasses, called after the function is pushed."""

    def leave_function(self, node: cst.FunctionDef) -> None:
        """Hook for subclasses, called before the function is popped."""

    def definition_name(self, node: cst.FunctionDef | cst.ClassDef) -> str:
        """Fully qualified name of a function or class definition."""
        names = self.parsed.qualified_names(node.name)
        return min(names) if names else node.name.value

    def current_owner(self) -> cst.ClassDef | None:
        """The class whose method is the innermost function, if any."""
        return self.owners[-1] if self.owners else None


def is_generator(node: cst.FunctionDef) -> bool:
    """Whether the function's own body (not nested functions) yields."""
    return bool(find_nodes(node.body, (cst.Yield,), nested=False))


_N = TypeVar("_N", bound=cst.CSTNode)


def find_nodes(root: cst.CSTNode, kinds: tuple[type[_N], ...], *, nested: bool = True) -> list[_N]:
    """The nodes of the given kinds under `root`, in order.

    With `nested=False` the search stays out of nested functions, lambdas and classes (one of
    those is still found itself when its kind is asked for): what belongs to `root`'s own scope.
    """
    finder = _NodeFinder(kinds, nested=nested)
    root.visit(finder)
    return cast(list[_N], finder.found)


class _NodeFinder(cst.CSTVisitor):
    def __init__(self, kinds: tuple[type[cst.CSTNode], ...], *, nested: bool) -> None:
        super().__init__()
        self.kinds = kinds
        self.nested = nested
        self.found: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, self.kinds):
            self.found.append(node)
        return self.nested or not isinstance(node, _SCOPES)


_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def name_nodes(node: cst.CSTNode) -> list[cst.Name | cst.Attribute]:
    """Every name and attribute under the node, for asking what they refer to."""
    return find_nodes(node, (cst.Name, cst.Attribute))


def decorator_target(decorator: cst.Decorator) -> cst.BaseExpression:
    """The decorator's callable: `app.route` for `@app.route("/")`."""
    expression = decorator.decorator
    return expression.func if isinstance(expression, cst.Call) else expression


def decorator_method(decorator: cst.Decorator) -> str | None:
    """The last attribute or name of the decorator's callable."""
    target = decorator_target(decorator)
    if isinstance(target, cst.Attribute):
        return target.attr.value
    if isinstance(target, cst.Name):
        return target.value
    return None
