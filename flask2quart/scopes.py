"""A visitor base that knows which functions and classes enclose the node it is at."""

from __future__ import annotations

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
    finder = _YieldFinder()
    node.body.visit(finder)
    return finder.found


class _YieldFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def visit_Yield(self, node: cst.Yield) -> bool:
        self.found = True
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def name_nodes(node: cst.CSTNode) -> list[cst.Name | cst.Attribute]:
    """Every name and attribute under the node, for asking what they refer to."""
    finder = _NameFinder()
    node.visit(finder)
    return finder.nodes


class _NameFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[cst.Name | cst.Attribute] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.nodes.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.nodes.append(node)


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
