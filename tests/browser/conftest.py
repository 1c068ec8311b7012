"""Browser fixtures: headless Chromium driving the site under real Hypercorn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from ..support.app_settings import server_env
from ..support.browsing import WITHOUT_ACCESS_LOG, Browsing
from ..support.chromium import launch_chromium, missing_chromium_message
from ..support.live_server import quart_app_server


@pytest.fixture(scope="session")
def chromium_available() -> None:
    """Fail (never skip) with the install command when Chromium is missing."""
    if message := missing_chromium_message():
        pytest.fail(message, pytrace=False)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium_available: None) -> AsyncIterator[Browser]:
    """One headless Chromium for the whole run; each test gets its own contexts."""
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browsing(browser: Browser) -> AsyncIterator[Browsing]:
    """Open watched pages; fails the test if any page had an unexpected problem."""
    session = Browsing(browser)
    yield session
    problems = session.unexpected_problems()
    await session.close()
    assert not problems, "the browser saw problems:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def site_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database and uploads folder of the shared site."""
    return tmp_path_factory.mktemp("site")


@pytest.fixture(scope="session")
def site(site_folder: Path) -> Iterator[str]:
    """The site under real Hypercorn, shared by the tests that store nothing."""
    with quart_app_server(server_env(site_folder), extra_args=WITHOUT_ACCESS_LOG) as server:
        yield server.base_url


@pytest_asyncio.fixture(loop_scope="session")
async def page(browsing: Browsing, site: str) -> Page:
    """A watched page on the shared site, signed out."""
    return await browsing.open(site)
