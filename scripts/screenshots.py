"""Regenerate docs/screenshots/: each main page of the site at desktop and phone widths.

Run from the repository root: `make screenshots`, or `.venv/bin/python -m scripts.screenshots`
(`--output DIR` writes elsewhere, `--scene NAME` takes only some scenes).
It serves the site under real Hypercorn on a free loopback port with a throwaway database and
uploads folder, signs in, uploads a few files and photographs every page with headless Chromium.
What would differ from one run to the next is made the same before each picture (see
`STEADY_PAGE`), so that on an unchanged tree it rewrites every picture byte for byte.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from tests.support.app_settings import API_KEY, server_env
from tests.support.browsing import DESKTOP, PHONE
from tests.support.chromium import launch_chromium, missing_chromium_message
from tests.support.live_server import PROJECT_ROOT, quart_app_server
from tests.support.page_actions import sign_in_through_the_form, throttle_uploads

OUTPUT = PROJECT_ROOT / "docs" / "screenshots"
VIEWPORTS: dict[str, ViewportSize] = {"desktop": DESKTOP, "phone": PHONE}
# Small limits so that one sample file is refused, as a person would see it; one upload at a
# time, so that the files are stored, and listed, in the same order every run.
SERVER_SETTINGS = {
    "UPLOAD_MAX_FILE_SIZE": str(3_000_000),
    "UPLOAD_PARALLEL_UPLOADS": "1",
    "UPLOADS_PER_PAGE": "4",
}
THROTTLED_BYTES_PER_SECOND = 100_000

Scene = Callable[[Page], Awaitable[None]]

# Run in the page before each picture. What changes from run to run takes a fixed value: the
# server's free port becomes make serve's 5000, upload times one minute, the random part of each
# stored name a digest of the rest of the name, a refused upload's row shows it all sent (how
# much had gone when the refusal came varies), and the upload still running is frozen (a copy
# replaces it, which the page's script no longer updates) at 30% of its bytes, sent at the
# throttled 100 kB/s.  After the picture, CANCEL_RUNNING cancels it through the real row, so
# that it is not stored once the page is gone (the next scenes list the stored files).
STEADY_PAGE = r"""
() => {
    const fnv = (text) => {
        let hash = 0xcbf29ce484222325n;
        for (const char of text) {
            hash = BigInt.asUintN(64, (hash ^ BigInt(char.codePointAt(0))) * 0x100000001b3n);
        }
        return hash.toString(16).padStart(16, "0").slice(0, 12);
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        node.textContent = node.textContent
            .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:5000")
            .replace(/([\w.]+(?:-[\w.]+)*?)-[0-9a-f]{12}(?=\.|\b)/g,
                     (_, stem) => `${stem}-${fnv(stem)}`);
    }
    for (const time of document.querySelectorAll("time")) {
        time.textContent = "2024-05-01 14:03 UTC";
        time.dateTime = "2024-05-01T14:03:00+00:00";
    }
    // A refused file's row keeps what had been sent when the answer came: whole, for the picture.
    for (const refused of document.querySelectorAll(".upload-row[data-state=failed]")) {
        const size = refused.querySelector(".upload-size").textContent;
        refused.querySelector(".upload-progress").value = 100;
        refused.querySelector(".upload-sent").textContent = `${size} of ${size}`;
        refused.querySelector(".upload-percent").textContent = "100%";
        refused.querySelector(".upload-speed").textContent = "0 bytes/s";
    }
    window.stillRunning = [];
    for (const running of document.querySelectorAll(".upload-row[data-state=uploading]")) {
        const frozen = running.cloneNode(true);
        running.replaceWith(frozen);
        window.stillRunning.push(running);
        frozen.querySelector(".upload-progress").value = 30;
        frozen.querySelector(".upload-sent").textContent = "768 kB of 2.6 MB";
        frozen.querySelector(".upload-percent").textContent = "30%";
        frozen.querySelector(".upload-speed").textContent = "100 kB/s";
        frozen.querySelector(".upload-eta").textContent = "18 s left";
    }
}
"""
CANCEL_RUNNING = """
() => { for (const row of window.stillRunning) row.querySelector(".upload-cancel").click(); }
"""


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


async def shoot(
    browser: Browser,
    base_url: str,
    files: dict[str, Path],
    *,
    output: Path,
    only: Sequence[str] = (),
) -> list[Path]:
    """Photograph every scene (or those named in `only`) at every width into `output`; return
    the files written."""

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
            if only and scene_name not in only:
                continue
            context = await browser.new_context(
                base_url=base_url,
                viewport=viewport,
                color_scheme="light",
                reduced_motion="reduce",
                timezone_id="UTC",
                locale="en-GB",
            )
            page = await context.new_page()
            await scene(page)
            await page.mouse.move(0, 0)
            await page.evaluate("document.fonts.ready")
            await page.evaluate(STEADY_PAGE)
            target = output / f"{scene_name}-{viewport_name}.png"
            await page.screenshot(path=str(target), full_page=True, animations="disabled")
            await page.evaluate(CANCEL_RUNNING)
            written.append(target)
            await context.close()
    return written


async def main(output: Path, only: Sequence[str]) -> None:
    """Serve the site on a throwaway folder and photograph it."""
    if message := missing_chromium_message():
        raise SystemExit(message)
    with tempfile.TemporaryDirectory() as folder:
        files = sample_files(Path(folder))
        with quart_app_server(server_env(Path(folder), **SERVER_SETTINGS)) as server:
            async with async_playwright() as playwright:
                browser = await launch_chromium(playwright)
                written = await shoot(browser, server.base_url, files, output=output, only=only)
                await browser.close()
    for path in written:
        print(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="folder for the pictures")
    parser.add_argument("--scene", action="append", default=[], help="only this scene; repeatable")
    arguments = parser.parse_args()
    arguments.output.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(arguments.output, arguments.scene))
