"""Regenerate docs/screenshots/: each main page of the site at desktop and phone widths.

Run from the repository root: `make screenshots`, or `.venv/bin/python -m scripts.screenshots`.
It serves the site under real Hypercorn on a free loopback port with a throwaway database and
uploads folder, signs in, uploads a few files and photographs every page with headless Chromium.
"""

from __future__ import annotations

import asyncio
import random
import re
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from tests.support.app_settings import API_KEY, server_env
from tests.support.browsing import DESKTOP, PHONE
from tests.support.chromium import launch_chromium, missing_chromium_message
from tests.support.live_server import PROJECT_ROOT, quart_app_server
from tests.support.page_actions import sign_in_through_the_form, throttle_uploads

OUTPUT = PROJECT_ROOT / "docs" / "screenshots"
VIEWPORTS: dict[str, ViewportSize] = {"desktop": DESKTOP, "phone": PHONE}
# Small limits so that one sample file is refused, as a person would see it.
SERVER_SETTINGS = {
    "UPLOAD_MAX_FILE_SIZE": str(3_000_000),
    "UPLOAD_PARALLEL_UPLOADS": "3",
    "UPLOADS_PER_PAGE": "4",
}
THROTTLED_BYTES_PER_SECOND = 100_000

Scene = Callable[[Page], Awaitable[None]]


def sample_files(folder: Path) -> dict[str, Path]:
    """Files with fixed contents, so the digests in the pictures stay the same between runs."""
    seeded = random.Random(2024)  # noqa: S311 (sample data, not secrets)
    contents = {
        "tutorial-notes.md": b"# Notes\n\nRoutes, templates, requests, uploads, cookies.\n" * 40,
        "wordlist.txt": "\n".join(f"word{n}" for n in range(30_000)).encode(),
        "photo.jpg": seeded.randbytes(1_400_000),
        "disk-image.iso": seeded.randbytes(4_000_000),
        "dataset.csv": b"city,located\nOmaha,yes\nParis,no\n" * 80_000,
    }
    paths = {}
    for name, content in contents.items():
        paths[name] = folder / name
        paths[name].write_bytes(content)
    return paths


async def uploads_in_every_state(page: Page, files: dict[str, Path]) -> None:
    """The upload page with stored files, a refused one and one still on its way."""
    await page.goto("/upload")
    picker = page.get_by_label("Choose files")
    await picker.set_input_files([files[name] for name in ("tutorial-notes.md", "wordlist.txt")])
    await picker.set_input_files(files["photo.jpg"])
    await expect(page.locator(".upload-row[data-state=done]")).to_have_count(3)
    await picker.set_input_files(files["disk-image.iso"])
    await expect(page.locator(".upload-row[data-state=failed]")).to_have_count(1)
    await throttle_uploads(page, THROTTLED_BYTES_PER_SECOND)
    await picker.set_input_files(files["dataset.csv"])
    running = page.locator(".upload-row[data-state=uploading] .upload-percent")
    await expect(running).to_have_text(re.compile(r"^[3-9]\d%$"), timeout=60_000)


async def shoot(browser: Browser, base_url: str, files: dict[str, Path]) -> list[Path]:
    """Photograph every scene at every width; return the files written."""

    def visit(path: str) -> Scene:
        async def scene(page: Page) -> None:
            await page.goto(path)

        return scene

    async def about(page: Page) -> None:
        await page.goto("/about")
        await page.get_by_role("button", name="Show more").click()

    async def login_error(page: Page) -> None:
        await page.goto("/login")
        await page.get_by_label("Username").fill("guido-van-rossum")
        await page.get_by_label("Password", exact=True).fill("wrong password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_be_visible()

    async def cookie(page: Page) -> None:
        await sign_in_through_the_form(page)
        await page.goto("/home")

    async def upload(page: Page) -> None:
        await sign_in_through_the_form(page)
        await uploads_in_every_state(page, files)

    async def stored_files(page: Page) -> None:
        await sign_in_through_the_form(page)
        await page.goto("/uploads")
        await page.locator("tbody tr").last.get_by_text("Delete", exact=True).click()

    scenes: dict[str, Scene] = {
        "home": visit("/"),
        "about": about,
        "login": login_error,
        "profile": sign_in_through_the_form,
        "stores": visit("/stores/locations/cairo"),
        "api": visit(f"/api/users/guido-van-rossum?key={API_KEY}"),
        "cookie": cookie,
        "upload": upload,
        "uploads": stored_files,
    }
    written = []
    for viewport_name, viewport in VIEWPORTS.items():
        for scene_name, scene in scenes.items():
            context = await browser.new_context(
                base_url=base_url, viewport=viewport, color_scheme="light"
            )
            page = await context.new_page()
            await scene(page)
            target = OUTPUT / f"{scene_name}-{viewport_name}.png"
            await page.screenshot(path=str(target), full_page=True, animations="disabled")
            written.append(target)
            await context.close()
    return written


async def main() -> None:
    """Serve the site on a throwaway folder and photograph it."""
    if message := missing_chromium_message():
        raise SystemExit(message)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        files = sample_files(Path(folder))
        with quart_app_server(server_env(Path(folder), **SERVER_SETTINGS)) as server:
            async with async_playwright() as playwright:
                browser = await launch_chromium(playwright)
                written = await shoot(browser, server.base_url, files)
                await browser.close()
    for path in written:
        print(path.relative_to(PROJECT_ROOT))


if __name__ == "__main__":
    asyncio.run(main())
