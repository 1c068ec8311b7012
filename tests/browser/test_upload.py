"""The upload page in a real browser: picker, drop zone, progress, results, errors, cancel."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from ..conftest import server_env
from ..live_server import hypercorn_server
from .conftest import Browsing, sign_in_through_the_form

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Slow enough that an upload of a few hundred kilobytes is still running when the test acts.
_THROTTLED_BYTES_PER_SECOND = 64 * 1024
_SETTLE_SECONDS = 15.0

Serve = Callable[..., str]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start the site on its own folder with QUART_* overrides; return its base URL."""
    with ExitStack() as servers:

        def start(**overrides: str) -> str:
            return servers.enter_context(hypercorn_server(server_env(tmp_path, **overrides)))

        yield start


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    """The served site's uploads folder."""
    return tmp_path / "uploads"


def make_file(folder: Path, name: str, size: int) -> Path:
    """A file of `size` random bytes."""
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored_files(folder: Path) -> list[Path]:
    """Every file under the uploads folder, hidden and partial ones included."""
    return sorted(path for path in folder.rglob("*") if path.is_file())


async def settled_stored_files(folder: Path) -> list[Path]:
    """The stored files once the server has finished cleaning up after a cancelled upload."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _SETTLE_SECONDS
    while stored_files(folder) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    return stored_files(folder)


def row_of(page: Page, name: str) -> Locator:
    """The upload row of the file called `name`."""
    return page.locator(".upload-row").filter(
        has=page.locator(".upload-name").get_by_text(name, exact=True)
    )


async def open_upload_page(browsing: Browsing, base_url: str, **options: object) -> Page:
    page = await browsing.open(base_url, **options)
    await sign_in_through_the_form(page)
    await page.goto("/upload")
    return page


async def throttle_uploads(page: Page) -> None:
    """Make the browser send request bodies slowly, as over a poor connection."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": _THROTTLED_BYTES_PER_SECOND,
        },
    )


async def expect_stored(row: Locator, path: Path) -> None:
    """The row finished: 100%, the server's name, size and the file's own SHA-256."""
    await expect(row).to_have_attribute("data-state", "done")
    await expect(row.locator("progress")).to_have_js_property("value", 100)
    await expect(row.locator(".upload-percent")).to_have_text("100%")
    await expect(row.locator(".upload-result-sha256")).to_have_text(sha256_of(path))
    size = path.stat().st_size
    await expect(row.locator(".upload-result-size")).to_contain_text(f"({size:,} bytes)")
    await expect(row.locator(".upload-status")).to_have_text("Stored.")
    await expect(row.locator(".upload-result-name")).to_have_text(re.compile(r"^\S+$"))


async def test_three_files_from_the_picker_upload_in_parallel_and_show_their_digests(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve())
    files = [
        make_file(tmp_path, "alpha.txt", 10_000),
        make_file(tmp_path, "beta.bin", 300_000),
        make_file(tmp_path, "gamma words.csv", 1_234),
    ]
    await page.get_by_label("Choose files").set_input_files(files)

    await expect(page.locator(".upload-row")).to_have_count(3)
    for path in files:
        await expect_stored(row_of(page, path.name), path)
    await expect(page.get_by_role("status").filter(has_text="stored")).to_have_text(
        "3 of 3 stored"
    )

    stored = {sha256_of(path) for path in stored_files(uploads)}
    assert {sha256_of(path) for path in files} <= stored


async def test_a_file_dropped_on_the_drop_zone_is_uploaded(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve())
    dropped = make_file(tmp_path, "dropped.txt", 40_000)
    zone = page.locator("#drop-zone")
    await expect(zone).to_contain_text("or drop them here")

    # A person's drag: the browser builds a DataTransfer holding the file and fires the events.
    data_transfer = await page.evaluate_handle(
        """([name, bytes]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, { type: "text/plain" }));
            return transfer;
        }""",
        [dropped.name, list(dropped.read_bytes())],
    )
    await zone.dispatch_event("dragenter", {"dataTransfer": data_transfer})
    await expect(zone).to_have_class(re.compile(r"\bdrag-over\b"))
    await zone.dispatch_event("dragover", {"dataTransfer": data_transfer})
    await zone.dispatch_event("drop", {"dataTransfer": data_transfer})
    await expect(zone).not_to_have_class(re.compile(r"\bdrag-over\b"))

    await expect_stored(row_of(page, dropped.name), dropped)
    assert sha256_of(dropped) in {sha256_of(path) for path in stored_files(uploads)}


async def test_no_more_uploads_run_at_once_than_the_configured_cap(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve(UPLOAD_PARALLEL_UPLOADS="2"))
    await expect(page.locator("#upload-form")).to_have_attribute("data-parallel", "2")
    await throttle_uploads(page)
    files = [make_file(tmp_path, f"slow-{n}.bin", 2_000_000) for n in range(3)]
    await page.get_by_label("Choose files").set_input_files(files)

    rows = page.locator(".upload-row")
    await expect(rows.and_(page.locator("[data-state=uploading]"))).to_have_count(2)
    await expect(rows.and_(page.locator("[data-state=queued]"))).to_have_count(1)
    await expect(row_of(page, "slow-2.bin").locator(".upload-status")).to_have_text(
        "Waiting for a free slot…"
    )

    # Cancelling a running upload frees its slot for the waiting one.
    browsing.allow(r"ERR_ABORTED")
    await page.get_by_role("button", name="Cancel the upload of slow-0.bin").click()
    await expect(row_of(page, "slow-2.bin")).to_have_attribute("data-state", "uploading")
    for name in ("slow-1.bin", "slow-2.bin"):
        await page.get_by_role("button", name=f"Cancel the upload of {name}").click()
    await expect(rows.and_(page.locator("[data-state=cancelled]"))).to_have_count(3)
    assert await settled_stored_files(uploads) == []


async def test_cancelling_a_large_upload_leaves_nothing_stored(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve())
    await throttle_uploads(page)
    large = make_file(tmp_path, "large.bin", 8_000_000)
    await page.get_by_label("Choose files").set_input_files(large)
    row = row_of(page, large.name)
    await expect(row).to_have_attribute("data-state", "uploading")
    # Wait until real bytes have gone out, so that the server has begun receiving the file.
    await expect(row.locator(".upload-percent")).to_have_text(re.compile(r"^[1-9]\d?%$"))
    await expect(row.locator(".upload-speed")).to_have_text(re.compile(r"kB/s$"))
    await expect(row.locator(".upload-eta")).to_have_text(re.compile(r"left$"))

    browsing.allow(r"ERR_ABORTED")
    await row.get_by_role("button", name="Cancel the upload of large.bin").click()
    await expect(row).to_have_attribute("data-state", "cancelled")
    await expect(row.locator(".upload-status")).to_have_text("Cancelled; nothing was stored.")
    await expect(row.get_by_role("button")).to_have_count(0)
    assert await settled_stored_files(uploads) == []


async def test_a_request_over_the_size_limit_shows_the_servers_error(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve(MAX_CONTENT_LENGTH="50000"))
    small = make_file(tmp_path, "small.txt", 1_000)
    too_big = make_file(tmp_path, "too-big.bin", 200_000)
    browsing.allow(r"\b413\b")
    await page.get_by_label("Choose files").set_input_files([small, too_big])

    failed = row_of(page, too_big.name)
    await expect(failed).to_have_attribute("data-state", "failed")
    await expect(failed.locator(".upload-status")).to_have_text(
        re.compile("exceeds the capacity limit")
    )
    await expect(failed.locator(".upload-result")).to_be_hidden()
    await expect_stored(row_of(page, small.name), small)
    await expect(page.get_by_role("status").filter(has_text="stored")).to_have_text(
        "1 of 2 stored · 1 failed"
    )
    assert [sha256_of(path) for path in stored_files(uploads)] == [sha256_of(small)]


async def test_the_plain_form_uploads_without_javascript(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve(), java_script_enabled=False)
    await expect(page.get_by_role("button", name="Upload")).to_be_visible()
    words = make_file(tmp_path, "words.txt", 5_000)
    await page.get_by_label("Choose files").set_input_files(words)
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Upload").click()
    assert (await answer.value).status == 201
    await expect(page.get_by_role("heading", level=1)).to_have_text("Upload complete")
    await expect(page.get_by_role("cell", name=sha256_of(words))).to_be_visible()
    assert [sha256_of(path) for path in stored_files(uploads)] == [sha256_of(words)]


async def test_signed_out_visitors_are_sent_to_sign_in(page: Page) -> None:
    await page.goto("/upload")
    await expect(page.locator("#upload-form")).to_have_count(0)
    await page.get_by_role("main").get_by_role("link", name="Sign in").click()
    await expect(page).to_have_url(re.compile("/login$"))
