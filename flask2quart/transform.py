"""Porting a set of files: apply every rule, round after round, until nothing changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from flask2quart import asyncify, awaitables, diagnostics, imports, testports
from flask2quart.analysis import Frame, ModuleAnalysis
from flask2quart.index import ProjectIndex, build_index
from flask2quart.parsed import ParsedModule, parse
from flask2quart.plan import Plan
from flask2quart.report import Finding
from flask2quart.sources import AsyncioMode, SourceFile, describe, python_files

# Each round moves `async` one call edge further; real call chains are far shorter.
MAX_ROUNDS = 50


@dataclass
class PortResult:
    """Original and ported text of every file, and what was left to the human."""

    original: dict[Path, str]
    ported: dict[Path, str]
    findings: list[Finding] = field(default_factory=list)
    rounds: int = 0

    def changed_paths(self) -> list[Path]:
        """Files whose text the port changes."""
        return [path for path, text in self.ported.items() if text != self.original[path]]


class _PortRules(ModuleAnalysis):
    """Dispatches each visited node to the rule modules, in a fixed order."""

    def on_enter_function(self, frame: Frame) -> None:
        asyncify.on_enter_function(self, frame)

    def on_leave_function(self, frame: Frame) -> None:
        diagnostics.on_leave_function(self, frame)
        asyncify.on_leave_function(self, frame)
        testports.on_leave_function(self, frame)

    def visit_Import(self, node: cst.Import) -> None:
        imports.on_import(self, node)
        diagnostics.on_import(self, node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        imports.on_import_from(self, node)
        diagnostics.on_import(self, node)

    def visit_Name(self, node: cst.Name) -> None:
        imports.on_reference(self, node)
        diagnostics.on_name_use(self, node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        imports.on_reference(self, node)
        awaitables.on_attribute(self, node)
        testports.on_attribute(self, node)
        diagnostics.on_attribute(self, node)
        diagnostics.on_name_use(self, node)

    def visit_Call(self, node: cst.Call) -> None:
        awaitables.on_call(self, node)
        asyncify.on_call(self, node)
        testports.on_call(self, node)
        testports.on_cookie_call(self, node)
        diagnostics.on_call(self, node)

    def visit_With(self, node: cst.With) -> None:
        asyncify.on_with_item_bound(self, node)
        asyncify.on_with(self, node)
        testports.on_with(self, node)

    def visit_Return(self, node: cst.Return) -> None:
        testports.on_return(self, node)


def port_paths(paths: Sequence[Path], *, asyncio_mode: AsyncioMode | None = None) -> PortResult:
    """Port every Python file under the given files and directories (nothing is written)."""
    sources = [describe(path, asyncio_mode=asyncio_mode) for path in python_files(paths)]
    texts = {source.path: source.path.read_bytes().decode("utf-8") for source in sources}
    return port_sources(sources, texts)


def port_sources(sources: Sequence[SourceFile], texts: dict[Path, str]) -> PortResult:
    """Port the given texts as one project; cross-file calls resolve by module name."""
    result = PortResult(original=dict(texts), ported=dict(texts))
    syntax_errors: list[Finding] = []
    portable: list[SourceFile] = []
    for source in sources:
        try:
            cst.parse_module(texts[source.path])
        except cst.ParserSyntaxError as error:
            syntax_errors.append(_syntax_error(source, error))
        else:
            portable.append(source)
    for round_number in range(1, MAX_ROUNDS + 1):
        parsed = [parse(source, result.ported[source.path]) for source in portable]
        index = build_index(parsed)
        findings: list[Finding] = list(syntax_errors)
        changed = False
        for module in parsed:
            text, module_findings = _port_module(module, index)
            findings.extend(module_findings)
            if text != result.ported[module.source.path]:
                result.ported[module.source.path] = text
                changed = True
        result.rounds = round_number
        result.findings = findings
        if not changed:
            return result
    raise RuntimeError(f"the port did not settle after {MAX_ROUNDS} rounds")


def _port_module(module: ParsedModule, index: ProjectIndex) -> tuple[str, list[Finding]]:
    plan = Plan()
    module.module.visit(_PortRules(module, index, plan))
    local_packages = index.local_packages
    return plan.apply(module.module, local_packages=local_packages).code, plan.findings


def _syntax_error(source: SourceFile, error: cst.ParserSyntaxError) -> Finding:
    return Finding(
        str(source.path),
        error.raw_line,
        error.raw_column + 1,
        "syntax-error",
        f"cannot parse the file, so it was not ported: {error.message}",
        "make it valid Python 3 first",
    )
