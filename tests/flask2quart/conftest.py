"""The sample projects hold their own test suites: they run in subprocesses, never collected."""

from __future__ import annotations

collect_ignore = ["sample_projects"]
