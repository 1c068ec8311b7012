"""Porting a set of files: apply every rule, round after round, until nothing changes."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from flask2quart import (
    asyncify,
    awaitables,
    client_arguments,
    commands,
    diagnostics,
    file_responses,
    imports,
    signal_receivers,
    testports,
    unittests,
)
from flask2quart.analysis import Frame, ModuleAnalysis
from flask2quart.index import ProjectIndex, build_index
from flask2quart.parsed import ParsedModule, parse
from flask2quart.plan import Plan
from flask2quart.project_files import port_project_files
from flask2quart.report import Finding
from flask2quart.sources import (
    AsyncioMode,
    SourceFile,
    UnreadableSourceError,
    describe,
    python_files,
    read_source,
)

# Each round moves `async` one call edge further; real call chains are far shorter.
MAX_ROUNDS = 50

# Called after each file of each round with (round, files done, files in all).
Progress = Callable[[int, int, int], None]


@dataclass
class PortResult:
    """Original and ported text of every file, and what was left to the human."""

    original: dict[Path, str]
    ported: dict[Path, str]
    findings: list[Finding] = field(default_factory=list)
    rounds: int = 0
    encodings: dict[Path, str] = field(default_factory=dict)
    # Modules that define async functions once ported.
    async_modules: set[str] = field(default_factory=set)

    def changed_paths(self) -> list[Path]:
        """Files whose text the port changes."""
        return [path for path, text in self.ported.items() if text != self.original[path]]

    def encoded(self, path: Path) -> bytes:
        """A ported file's bytes, in the encoding (and with the BOM) it was read in."""
        return self.ported[path].encode(self.encodings.get(path, "utf-8"))


class _PortRules(ModuleAnalysis):
    """Dispatches each visited node to the rule modules, in a fixed order."""

    def on_enter_function(self, frame: Frame) -> None:
        asyncify.on_enter_function(self, frame)

    def on_leave_function(self, frame: Frame) -> None:
        diagnostics.on_leave_function(self, frame)
        asyncify.on_leave_function(self, frame)
        testports.on_leave_function(self, frame)
        unittests.on_leave_function(self, frame)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        unittests.on_leave_class(self, original_node)
        super().leave_ClassDef(original_node)

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
        file_responses.on_call(self, node)
        commands.on_call(self, node)
        unittests.on_call(self, node)
        signal_receivers.on_call(self, node)
        asyncify.on_call(self, node)
        testports.on_call(self, node)
        testports.on_cookie_call(self, node)
        diagnostics.on_call(self, node)

    def visit_With(self, node: cst.With) -> None:
        asyncify.on_with_item_bound(self, node)
        asyncify.on_with(self, node)
        testports.on_with(self, node)
        signal_receivers.on_with(self, node)

    def visit_Return(self, node: cst.Return) -> None:
        client_arguments.on_return(self, node)


def port_paths(
    paths: Sequence[Path],
    *,
    asyncio_mode: AsyncioMode | None = None,
    progress: Progress | None = None,
) -> PortResult:
    """Port every Python file under the given files and directories (nothing is written)."""
    sources: list[SourceFile] = []
    texts: dict[Path, str] = {}
    encodings: dict[Path, str] = {}
    unreadable: list[Finding] = []
    for path in python_files(paths):
        try:
            texts[path], encodings[path] = read_source(path)
        except UnreadableSourceError as error:
            unreadable.append(
                Finding(
                    str(path),
                    1,
                    1,
                    "encoding",
                    f"cannot decode the file, so it was not ported: {error}",
                    "declare the file's encoding on its first or second line "
                    "(`# -*- coding: latin-1 -*-`) or save it as UTF-8",
                )
            )
        else:
            sources.append(describe(path, asyncio_mode=asyncio_mode))
    result = port_sources(sources, texts, progress=progress)
    result.encodings = encodings
    result.findings[:0] = unreadable
    project = port_project_files(
        sources,
        [path for path in paths if path.is_dir()],
        tests_are_async=any(
            source.is_test and source.module.name in result.async_modules for source in sources
        ),
    )
    result.original.update(project.original)
    result.ported.update(project.ported)
    result.findings.extend(project.findings)
    return result


def port_sources(
    sources: Sequence[SourceFile], texts: dict[Path, str], *, progress: Progress | None = None
) -> PortResult:
    """Port the given texts as one project; cross-file calls resolve by module name."""
    result = PortResult(original=dict(texts), ported=dict(texts))
    syntax_errors: list[Finding] = []
    portable: list[SourceFile] = []
    for source in sources:
        try:
            cst.parse_module(texts[source.path])
        except cst.ParserSyntaxError as error:
            syntax_errors.append(_syntax_error(source, texts[source.path], error))
        else:
            portable.append(source)
    # Parsing and resolving names is most of the work: a file unchanged by a round keeps its
    # parse for the next one.
    parses: dict[Path, tuple[str, ParsedModule]] = {}
    for round_number in range(1, MAX_ROUNDS + 1):
        parsed = []
        for source in portable:
            text = result.ported[source.path]
            if source.path not in parses or parses[source.path][0] != text:
                parses[source.path] = (text, parse(source, text))
            parsed.append(parses[source.path][1])
        index = build_index(parsed)
        findings: list[Finding] = list(syntax_errors)
        changed = False
        for done, module in enumerate(parsed, start=1):
            text, module_findings = _port_module(module, index)
            findings.extend(module_findings)
            if text != result.ported[module.source.path]:
                result.ported[module.source.path] = text
                changed = True
            if progress is not None:
                progress(round_number, done, len(parsed))
        result.rounds = round_number
        result.findings = findings
        if not changed:
            result.async_modules = {
                module.source.module.name
                for module in parsed
                if any(
                    name.startswith(f"{module.source.module.name}.")
                    for name in index.async_functions
                )
            }
            return result
    raise RuntimeError(f"the port did not settle after {MAX_ROUNDS} rounds")


def _port_module(module: ParsedModule, index: ProjectIndex) -> tuple[str, list[Finding]]:
    plan = Plan()
    module.module.visit(_PortRules(module, index, plan))
    local_packages = index.local_packages
    return plan.apply(module.module, local_packages=local_packages).code, plan.findings


def _syntax_error(source: SourceFile, text: str, error: cst.ParserSyntaxError) -> Finding:
    """Locate the error as Python does; libcst's position is often the next token's."""
    line, column, message = error.raw_line, error.raw_column + 1, error.message
    try:
        ast.parse(text, filename=str(source.path))
    except SyntaxError as python_error:
        line = python_error.lineno or line
        column = python_error.offset or column
        message = python_error.msg
    return Finding(
        str(source.path),
        line,
        column,
        "syntax-error",
        f"cannot parse the file, so it was not ported: {message}",
        "make it valid Python 3 first",
    )
