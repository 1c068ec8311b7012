"""Watched browser pages: what the browser tests open, and the problems a page must not have.

Every page a test opens is watched: console errors, uncaught exceptions, requests that failed and
sub-resources (CSS, JS, XHR) answered with an HTTP error are collected, and the test fails at
teardown if any of them was not declared expected with `browsing.allow(...)`.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    ViewportSize,
    expect,
)

# The browser meets the site as `make serve` runs it (quart-app serve with the README's
# hypercorn.toml: workers, uvloop, the upload queue), only on a free port and quietly.
WITHOUT_ACCESS_LOG = ("--access-logfile", "")

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}

# Generous guards for a loaded two-core CI machine; they bound waiting, they assert nothing.
expect.set_options(timeout=20_000)


class PageProblems:
    """Collects what went wrong on one page."""

    def __init__(self, page: Page) -> None:
        self.found: list[str] = []
        # Failed navigations are the test's business (it checks their status); Chromium also
        # logs each one as a console error, which this set lets us recognise and leave out.
        self._failed_documents: set[str] = set()
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.found.append(f"page error: {error}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and url in self._failed_documents:
            return
        self.found.append(f"console error: {message.text} ({url})")

    def _on_request_failed(self, request: Request) -> None:
        # The tab's icon is fetched after the load event, so the next navigation may cancel it;
        # that is no failure of the page. Anything else the page asked for counts.
        if request.resource_type == "other" and request.failure == "net::ERR_ABORTED":
            return
        self.found.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def _on_response(self, response: Response) -> None:
        if response.status < 400:
            return
        if response.request.resource_type == "document":
            self._failed_documents.add(response.url)
        else:
            self.found.append(f"HTTP {response.status}: {response.request.method} {response.url}")


class Browsing:
    """Opens watched pages in fresh browser contexts (fresh cookies) for one test."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser
        self._contexts: list[BrowserContext] = []
        self._problems: list[PageProblems] = []
        self._allowed: list[re.Pattern[str]] = []

    async def open(self, base_url: str, **context_options: Any) -> Page:
        """A new page in a new context whose relative URLs resolve against `base_url`."""
        context = await self._browser.new_context(
            base_url=base_url, viewport=DESKTOP, **context_options
        )
        self._contexts.append(context)
        page = await context.new_page()
        self._problems.append(PageProblems(page))
        return page

    def allow(self, pattern: str) -> None:
        """Declare problems matching `pattern` (a regular expression) expected in this test."""
        self._allowed.append(re.compile(pattern))

    def unexpected_problems(self) -> list[str]:
        """Every problem seen so far that no `allow` pattern matches."""
        return [
            problem
            for problems in self._problems
            for problem in problems.found
            if not any(pattern.search(problem) for pattern in self._allowed)
        ]

    async def close(self) -> None:
        for context in self._contexts:
            await context.close()
