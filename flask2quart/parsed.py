"""A parsed module with the libcst metadata every rule reads."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import cast

import libcst as cst
from libcst.metadata import (
    CodeRange,
    FullyQualifiedNameProvider,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedName,
)

from flask2quart.names import FRAMEWORKS
from flask2quart.sources import SourceFile

# Flask and Quart re-export these submodules' names at the top level, so `flask.helpers.flash`
# and `flask.flash` are one name for the rules.
_REEXPORTING_SUBMODULES = frozenset({"globals", "helpers", "templating"})


@dataclass
class ParsedModule:
    """One source file's syntax tree and its resolved names, parents and positions."""

    source: SourceFile
    wrapper: MetadataWrapper
    names: Mapping[cst.CSTNode, Collection[QualifiedName]]
    parents: Mapping[cst.CSTNode, cst.CSTNode]
    positions: Mapping[cst.CSTNode, CodeRange]
    uses_framework: bool = field(default=False)

    @property
    def module(self) -> cst.Module:
        """The tree whose nodes the metadata describes."""
        return self.wrapper.module

    @property
    def display_path(self) -> str:
        """The path as the user gave it, for reports and diffs."""
        return str(self.source.path)

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """Fully qualified names the node may refer to."""
        return {name.name for name in self.names.get(node, ())}

    def framework_name(self, node: cst.CSTNode) -> str | None:
        """The node's name inside Flask or Quart (`request.form`), or None if it is not theirs."""
        for name in self.qualified_names(node):
            head, _, rest = name.partition(".")
            if head in FRAMEWORKS and rest:
                first, _, tail = rest.partition(".")
                if first in _REEXPORTING_SUBMODULES and tail:
                    return tail
                return rest
        return None

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The node's parent, or None for the module itself."""
        return self.parents.get(node)

    def line_and_column(self, node: cst.CSTNode) -> tuple[int, int]:
        """1-based line and column where the node starts."""
        start = self.positions[node].start
        return start.line, start.column + 1

    def code_for(self, node: cst.CSTNode) -> str:
        """The node's source text."""
        return self.module.code_for_node(node)


def parse(source: SourceFile, code: str) -> ParsedModule:
    """Parse code and resolve the metadata the rules need."""
    wrapper = MetadataWrapper(
        cst.parse_module(code), cache={FullyQualifiedNameProvider: source.module}
    )
    resolved = wrapper.resolve_many(
        [FullyQualifiedNameProvider, ParentNodeProvider, PositionProvider]
    )
    parsed = ParsedModule(
        source=source,
        wrapper=wrapper,
        names=cast(
            Mapping[cst.CSTNode, Collection[QualifiedName]], resolved[FullyQualifiedNameProvider]
        ),
        parents=cast(Mapping[cst.CSTNode, cst.CSTNode], resolved[ParentNodeProvider]),
        positions=cast(Mapping[cst.CSTNode, CodeRange], resolved[PositionProvider]),
    )
    parsed.uses_framework = any(
        name.name.partition(".")[0] in FRAMEWORKS
        for names in parsed.names.values()
        for name in names
    )
    return parsed
