"""The upload benchmark's figures: one result per server and run, medians, the judged ratios."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

MISSING = "—"
NOT_CHECKED = "n/a"


@dataclass
class Result:
    """One server's figures in one run; None where a phase did not run for it."""

    server: str
    burst_mb_s: float | None = None
    burst_seconds: float | None = None
    burst_ok: int | None = None
    pages: int | None = None
    page_p50_ms: float | None = None
    page_p99_ms: float | None = None
    page_latencies_ms: list[float] = field(default_factory=list)
    burst_rss_growth_mib: float | None = None
    burst_rss_peak_mib: float | None = None
    burst_intact: str | None = None
    burst_cpu_s_per_gb: float | None = None
    server_cpu_share: float | None = None
    loadgen_cpu_share: float | None = None
    big_mb_s: float | None = None
    big_status: int | None = None
    big_rss_growth_mib: float | None = None
    big_cpu_s_per_gb: float | None = None
    big_intact: str | None = None
    get_root_rps: float | None = None
    get_root_p99_ms: float | None = None
    get_about_rps: float | None = None
    get_about_p99_ms: float | None = None
    get_loadgen_cpu_share: float | None = None
    get_server_cpu_share: float | None = None
    notes: list[str] = field(default_factory=list)


COLUMNS = [
    ("server", "server", "{}"),
    ("burst_mb_s", "MB/s", "{:.0f}"),
    ("burst_ok", "ok", "{:.0f}"),
    ("pages", "pages", "{:.0f}"),
    ("page_p50_ms", "p50 ms", "{:.1f}"),
    ("page_p99_ms", "p99 ms", "{:.1f}"),
    ("burst_rss_growth_mib", "+MiB", "{:.1f}"),
    ("burst_intact", "intact", "{}"),
    ("burst_cpu_s_per_gb", "CPU-s/GB", "{:.2f}"),
    ("server_cpu_share", "srv CPU", "{:.0%}"),
    ("loadgen_cpu_share", "gen CPU", "{:.0%}"),
    ("big_mb_s", "1G MB/s", "{:.0f}"),
    ("big_rss_growth_mib", "1G +MiB", "{:.1f}"),
    ("big_cpu_s_per_gb", "1G CPU-s/GB", "{:.2f}"),
    ("big_intact", "1G intact", "{}"),
    ("get_root_rps", "GET / req/s", "{:.0f}"),
    ("get_root_p99_ms", "/ p99 ms", "{:.1f}"),
    ("get_about_rps", "/about req/s", "{:.0f}"),
    ("get_about_p99_ms", "/about p99 ms", "{:.1f}"),
    ("get_loadgen_cpu_share", "GET gen CPU", "{:.0%}"),
]

# The burst's columns alone.
BURST_COLUMNS = [column for column in COLUMNS if not column[0].startswith(("big_", "get_"))]

LEGEND = """\
Columns: MB/s, ok, pages, p50/p99 ms: the burst's aggregate rate, uploads answered 201, page
fetches (GET / every 20 ms) during it and their latency; +MiB: growth of the server tree's RSS
over its settled baseline; intact: uploads that passed every integrity check the server allows
(below); CPU-s/GB: user + system CPU seconds of the server's whole process tree during the phase
per GB (1e9 bytes) of payload sent (the kernel's own writeback threads are not counted); srv CPU,
gen CPU: CPU time of the server tree and of the load generator as a share of all cores; 1G: the
one big upload; GET / and /about: keep-alive requests answered 200 per second over the measured
window, and their p99; GET gen CPU: the GET load generator's share of all cores (the higher of
the two paths). — means the phase does not apply to the server (or did not run). In the
medians' table, p50/p99 are those of every page fetched during the bursts of all the runs
together (one burst fetches about 50, so that its own p99 is nearly its slowest page)."""


def _cell(value: Any, template: str) -> str:
    return MISSING if value is None else template.format(value)


def table(rows: Sequence[DataclassInstance], columns: list[tuple[str, str, str]] = COLUMNS) -> str:
    """A Markdown table with one row per result (any dataclass with the columns' fields)."""
    cells = [[title for _, title, _ in columns]]
    for row in rows:
        values = asdict(row)
        cells.append([_cell(values[key], template) for key, _, template in columns])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |"
        for line in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def tables(
    results: list[Result], medians: list[Result], runs: int, columns: list[tuple[str, str, str]]
) -> str:
    """The table of every result, then that of the medians when there were several runs."""
    text = table(results, columns)
    if runs > 1:
        text += f"\n\nMedians over {runs} runs:\n\n" + table(medians, columns)
    return text


def notes(results: list[Result]) -> str:
    """The results' notes, a line each, under a heading; nothing if there are none."""
    lines = [f"  {result.server}: {note}" for result in results for note in result.notes]
    return "\n".join(["", "Notes:", *lines]) if lines else ""


def _total_intact(values: list[str | None]) -> str | None:
    """Totals over the runs (3/4 and 4/4 make 7/8); n/a if any run could not check."""
    present = [value for value in values if value is not None]
    if not present:
        return None
    if NOT_CHECKED in present:
        return NOT_CHECKED
    passed, counted = zip(*(value.split("/") for value in present), strict=True)
    return f"{sum(map(int, passed))}/{sum(map(int, counted))}"


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


def median_result(label: str, results: Iterable[Result]) -> Result:
    """The median of each figure over the runs of one server (intact: the totals); the page
    latencies' percentiles over the pages of every run."""
    mine = [result for result in results if result.server == label]
    median = Result(label)
    for spec in fields(Result):
        values = [getattr(result, spec.name) for result in mine]
        if spec.name in {"server", "notes", "page_latencies_ms"}:
            continue
        if spec.name.endswith("_intact"):
            setattr(median, spec.name, _total_intact(values))
            continue
        present = [value for value in values if value is not None]
        setattr(median, spec.name, statistics.median(present) if present else None)
    pooled = [latency for result in mine for latency in result.page_latencies_ms]
    if pooled:
        median.page_p50_ms = percentile(pooled, 0.50)
        median.page_p99_ms = percentile(pooled, 0.99)
    return median


# (reference server, figure, its name, unit, whether the comparison is a difference)
_JUDGED = [
    ("fastapi_uvicorn", "burst_mb_s", "burst MB/s", "MB/s", False),
    ("fastapi_uvicorn", "big_mb_s", "1 GiB MB/s", "MB/s", False),
    ("asgi_ceiling_write", "burst_cpu_s_per_gb", "burst CPU-s/GB", "CPU-s/GB", False),
    ("asgi_ceiling_write", "big_cpu_s_per_gb", "1 GiB CPU-s/GB", "CPU-s/GB", False),
    ("asgi_ceiling_write", "page_p99_ms", "page p99 in burst", "ms", False),
    ("fastapi_uvicorn", "page_p99_ms", "page p99 in burst", "ms", False),
    ("asgi_ceiling_write", "burst_rss_growth_mib", "burst +MiB", "MiB", True),
    ("asgi_ceiling_write", "big_rss_growth_mib", "1 GiB +MiB", "MiB", True),
    ("flask_site_gunicorn", "get_root_rps", "GET / req/s", "req/s", False),
    ("flask_site_gunicorn", "get_about_rps", "GET /about req/s", "req/s", False),
]


@dataclass
class Ratio:
    """One comparison the project is judged by: a ratio, or a difference."""

    name: str
    subject: float | None
    reference: float | None
    unit: str
    difference: bool

    @property
    def value(self) -> float | None:
        if self.subject is None or self.reference is None:
            return None
        if self.difference:
            return self.subject - self.reference
        return self.subject / self.reference if self.reference else None

    def line(self) -> str:
        value = self.value
        if value is None or self.subject is None or self.reference is None:
            return f"{self.name}: {MISSING}"
        shown = f"{value:+.1f} {self.unit}" if self.difference else f"{value:.2f}"
        operator = "-" if self.difference else "/"
        return (
            f"{self.name}: {shown} "
            f"({self.subject:.2f} {operator} {self.reference:.2f} {self.unit})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "value": self.value}


def judged_ratios(medians: dict[str, Result]) -> list[Ratio]:
    """The ratios (and differences) the project is judged by, for both quart_app variants."""
    ratios = []
    for subject in ("quart_app", "quart_app_nofsync"):
        for reference, key, name, unit, difference in _JUDGED:
            operator = "-" if difference else "/"
            ratios.append(
                Ratio(
                    f"{subject} {name} {operator} {reference}",
                    getattr(medians[subject], key) if subject in medians else None,
                    getattr(medians[reference], key) if reference in medians else None,
                    unit,
                    difference,
                )
            )
    return ratios
