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
from playwright.async_api import Locator, Page, Route, expect

from ..support.app_settings import server_env
from ..support.browsing import DESKTOP, PHONE, WITHOUT_ACCESS_LOG, Browsing
from ..support.live_server import quart_app_server
from ..support.page_actions import sign_in_through_the_form, throttle_uploads
from ..support.store_files import store_contents

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Slow enough that an upload of a few hundred kilobytes is still running when the test acts.
_THROTTLED_BYTES_PER_SECOND = 64 * 1024
_SETTLE_SECONDS = 15.0

Serve = Callable[..., str]

# A cancelled tus upload is terminated at once (DELETE), and the server may still hold the lock
# of the PATCH that was just cut off: it answers 423 and the page asks again.
TERMINATION_RACE = (
    r"HTTP 423: DELETE \S+/files/",
    r"console error: Failed to load resource: the server responded with a status of 423 .*/files/",
)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start the site on its own folder with QUART_* overrides; return its base URL."""
    with ExitStack() as servers:

        def start(**overrides: str) -> str:
            env = server_env(tmp_path, **overrides)
            server = quart_app_server(env, extra_args=WITHOUT_ACCESS_LOG)
            return servers.enter_context(server).base_url

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


# The store's lock file and usage ledger exist whether or not anything is stored.


def stored_digests(folder: Path) -> list[str]:
    """The SHA-256 of each published file (the hidden temp and metadata folders left out)."""
    return sorted(sha256_of(path) for path in folder.iterdir() if path.is_file())


async def settled_store_contents(folder: Path) -> list[Path]:
    """The stored files once the server has finished cleaning up after a cancelled upload."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _SETTLE_SECONDS
    while store_contents(folder) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    return store_contents(folder)


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


async def without_tus_js_client(page: Page) -> None:
    """Reload the page as a browser in which tus-js-client cannot run: it finds no `tus`."""
    await page.add_init_script(
        "Object.defineProperty(window, 'tus', { get: () => undefined, set: () => {} })"
    )
    await page.reload()


async def expect_stored(row: Locator, path: Path) -> None:
    """The row finished: 100%, the server's name, size and the file's own SHA-256."""
    await expect(row).to_have_attribute("data-state", "done")
    await expect(row.locator("progress")).to_have_js_property("value", 100)
    await expect(row.locator(".upload-percent")).to_have_text("100%")
    await expect(row.locator(".upload-result-sha256")).to_have_text(sha256_of(path))
    size = path.stat().st_size
    await expect(row.locator(".upload-result-size")).to_contain_text(f"({size:,} bytes)")
    # The page hashed the file too and sent the digest, which the server checked.
    await expect(row.locator(".upload-status")).to_have_text(
        "Stored; its SHA-256 matches your file."
    )
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

    assert stored_digests(uploads) == sorted(sha256_of(path) for path in files)


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
    assert stored_digests(uploads) == [sha256_of(dropped)]


async def test_no_more_uploads_run_at_once_than_the_configured_cap(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve(UPLOAD_PARALLEL_UPLOADS="2"))
    await expect(page.locator("#upload-form")).to_have_attribute("data-parallel", "2")
    await throttle_uploads(page, _THROTTLED_BYTES_PER_SECOND)
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
    for pattern in TERMINATION_RACE:
        browsing.allow(pattern)
    await page.get_by_role("button", name="Cancel the upload of slow-0.bin").click()
    await expect(row_of(page, "slow-2.bin")).to_have_attribute("data-state", "uploading")
    for name in ("slow-1.bin", "slow-2.bin"):
        await page.get_by_role("button", name=f"Cancel the upload of {name}").click()
    await expect(rows.and_(page.locator("[data-state=cancelled]"))).to_have_count(3)
    assert await settled_store_contents(uploads) == []


async def test_cancelling_a_large_upload_leaves_nothing_stored(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve())
    await throttle_uploads(page, _THROTTLED_BYTES_PER_SECOND)
    large = make_file(tmp_path, "large.bin", 8_000_000)
    await page.get_by_label("Choose files").set_input_files(large)
    row = row_of(page, large.name)
    await expect(row).to_have_attribute("data-state", "uploading")
    # Wait until real bytes have gone out, so that the server has begun receiving the file.
    await expect(row.locator(".upload-percent")).to_have_text(re.compile(r"^[1-9]\d?%$"))
    await expect(row.locator(".upload-speed")).to_have_text(re.compile(r"kB/s$"))
    await expect(row.locator(".upload-eta")).to_have_text(re.compile(r"left$"))

    browsing.allow(r"ERR_ABORTED")
    for pattern in TERMINATION_RACE:
        browsing.allow(pattern)
    await row.get_by_role("button", name="Cancel the upload of large.bin").click()
    await expect(row).to_have_attribute("data-state", "cancelled")
    await expect(row.locator(".upload-status")).to_have_text("Cancelled; nothing was stored.")
    await expect(row.get_by_role("button")).to_have_count(0)
    assert await settled_store_contents(uploads) == []


# A setting, and the error the server gives a 200 kB .bin file under it.
REFUSALS = [
    pytest.param(
        "UPLOAD_MAX_FILE_SIZE",
        "50000",
        413,
        "An upload may hold at most 50000 bytes.",
        id="too-large",
    ),
    pytest.param(
        "UPLOAD_QUOTA", "50000", 507, "The upload would exceed the storage quota.", id="quota"
    ),
    pytest.param(
        "UPLOAD_ALLOWED_EXTENSIONS",
        '["txt"]',
        415,
        "Files like 'refused.bin' are not accepted.",
        id="wrong-type",
    ),
]


@pytest.mark.parametrize(("setting", "value", "status", "message"), REFUSALS)
async def test_a_refused_file_shows_the_servers_error_and_the_others_are_stored(
    browsing: Browsing,
    serve: Serve,
    tmp_path: Path,
    uploads: Path,
    setting: str,
    value: str,
    status: int,
    message: str,
) -> None:
    page = await open_upload_page(browsing, serve(**{setting: value}))
    small = make_file(tmp_path, "small.txt", 1_000)
    refused = make_file(tmp_path, "refused.bin", 200_000)
    browsing.allow(rf"\b{status}\b")
    await page.get_by_label("Choose files").set_input_files([small, refused])

    failed = row_of(page, refused.name)
    await expect(failed).to_have_attribute("data-state", "failed")
    await expect(failed.locator(".upload-status")).to_have_text(message)
    await expect(failed.locator(".upload-result")).to_be_hidden()
    await expect(failed.get_by_role("button")).to_have_count(0)
    await expect_stored(row_of(page, small.name), small)
    await expect(page.get_by_role("status").filter(has_text="stored")).to_have_text(
        "1 of 2 stored · 1 failed"
    )
    assert stored_digests(uploads) == [sha256_of(small)]


async def test_a_digest_mismatch_in_a_multipart_upload_shows_the_servers_error(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve())
    await without_tus_js_client(page)
    path = make_file(tmp_path, "tampered.txt", 3_000)
    sent: list[bytes] = []

    # Stand in for a corrupting network: the digest the page sends no longer fits the bytes.
    async def corrupt_digest(route: Route) -> None:
        body = route.request.post_data_buffer or b""
        sent.append(body)
        await route.continue_(post_data=body.replace(sha256_of(path).encode(), b"0" * 64))

    await page.route("**/upload", corrupt_digest)
    browsing.allow(r"\b422\b")
    await page.get_by_label("Choose files").set_input_files(path)

    row = row_of(page, path.name)
    await expect(row).to_have_attribute("data-state", "failed")
    await expect(row.locator(".upload-status")).to_have_text(
        re.compile(r"^'tampered.txt' has SHA-256 [0-9a-f]{64}\.$")
    )
    assert b'name="sha256"\r\n\r\n' + sha256_of(path).encode() in sent[0]
    assert store_contents(uploads) == []


async def test_the_plain_form_uploads_several_files_without_javascript(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve(), java_script_enabled=False)
    await expect(page.get_by_role("button", name="Upload")).to_be_visible()
    await expect(page.get_by_text("or drop them here")).to_be_hidden()
    files = [make_file(tmp_path, "words.txt", 5_000), make_file(tmp_path, "more.csv", 70_000)]
    await page.get_by_label("Choose files").set_input_files(files)
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Upload").click()
    assert (await answer.value).status == 201
    await expect(page.get_by_role("heading", level=1)).to_have_text("Upload complete")
    await expect(page.get_by_text("2 files were stored.")).to_be_visible()
    for path in files:
        await expect(page.get_by_role("cell", name=sha256_of(path))).to_be_visible()
    assert stored_digests(uploads) == sorted(sha256_of(path) for path in files)

    await page.get_by_role("link", name="Stored files").click()
    await expect(list_row(page, "more.csv")).to_have_count(1)


async def test_the_plain_form_shows_the_servers_error_page_without_javascript(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(
        browsing, serve(UPLOAD_MAX_FILE_SIZE="1000"), java_script_enabled=False
    )
    await page.get_by_label("Choose files").set_input_files(make_file(tmp_path, "big.txt", 5_000))
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Upload").click()
    assert (await answer.value).status == 413
    await expect(page.get_by_role("heading", level=1)).to_have_text("413 Request Entity Too Large")
    await expect(page.get_by_text("'big.txt' is larger than allowed.")).to_be_visible()
    assert store_contents(uploads) == []


async def test_the_keyboard_reaches_the_picker_through_the_drop_zone(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve())
    await page.get_by_role("link", name="Stored files").focus()
    await page.keyboard.press("Tab")
    picker = page.get_by_label("Choose files")
    await expect(picker).to_be_focused()
    await expect(page.locator("#drop-zone")).to_have_css("outline-style", "solid")
    # Space activates the input as a click does, which is what opens the browser's chooser.
    # (Whether Chromium then reports the chooser to Playwright depends on its paint timing, so the
    # test stops at the activation and hands the file over as the chooser would.)
    await picker.evaluate(
        "(input) => input.addEventListener('click', () => { input.dataset.activated = 'yes'; })"
    )
    await page.keyboard.press("Space")
    await expect(picker).to_have_attribute("data-activated", "yes")
    typed = make_file(tmp_path, "typed.txt", 2_000)
    await picker.set_input_files(typed)
    await expect_stored(row_of(page, typed.name), typed)


async def test_signed_out_visitors_are_sent_to_sign_in(page: Page) -> None:
    await page.goto("/upload")
    await expect(page.locator("#upload-form")).to_have_count(0)
    await page.get_by_role("main").get_by_role("link", name="Sign in").click()
    await expect(page).to_have_url(re.compile("/login$"))


async def upload_through_the_picker(page: Page, files: list[Path]) -> None:
    """Choose `files` on the upload page and wait until every one is stored."""
    await page.goto("/upload")
    await page.get_by_label("Choose files").set_input_files(files)
    for path in files:
        await expect(row_of(page, path.name)).to_have_attribute("data-state", "done")


def list_row(page: Page, original_name: str) -> Locator:
    """The uploads list's table row of the file uploaded as `original_name`."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=original_name))


async def test_the_list_shows_new_files_downloads_the_same_bytes_and_deletes_after_asking(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve())
    files = [make_file(tmp_path, "report.pdf", 120_000), make_file(tmp_path, "notes.txt", 900)]
    await upload_through_the_picker(page, files)
    await page.get_by_role("link", name="Stored files").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Stored files")
    await expect(page.get_by_text("2 files, newest first")).to_be_visible()

    report, notes = files
    row = list_row(page, report.name)
    await expect(row.get_by_role("cell").nth(1)).to_have_text("120.0 kB")
    await expect(row.locator("time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    await expect(row.locator("code")).to_have_text(sha256_of(report))
    await expect(list_row(page, notes.name).locator("code")).to_have_text(sha256_of(notes))

    async with page.expect_download() as download_info:
        await row.get_by_role("link", name=report.name).click()
    download = await download_info.value
    assert download.suggested_filename == report.name
    assert Path(await download.path()).read_bytes() == report.read_bytes()

    await page.set_viewport_size(PHONE)
    assert not await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    await expect(row.locator("code")).to_be_visible()
    await page.set_viewport_size(DESKTOP)

    stored_name = (await row.locator(".file-stored-as").inner_text()).removeprefix("stored as ")
    assert (uploads / stored_name).is_file()
    confirm = row.get_by_role("button", name=f"Yes, delete {stored_name}")
    await expect(confirm).to_be_hidden()
    await row.get_by_text("Delete", exact=True).click()
    await expect(confirm).to_be_visible()
    await confirm.click()

    await expect(page.get_by_role("status")).to_have_text(f"Deleted {stored_name}.")
    await expect(list_row(page, report.name)).to_have_count(0)
    await expect(list_row(page, notes.name)).to_have_count(1)
    await expect(page.get_by_text("1 file, newest first")).to_be_visible()
    assert not (uploads / stored_name).exists()
    assert stored_digests(uploads) == [sha256_of(notes)]
    assert not [path for path in store_contents(uploads) if stored_name in path.name]


async def test_the_list_is_paginated_newest_first(
    browsing: Browsing, serve: Serve, tmp_path: Path
) -> None:
    page = await open_upload_page(browsing, serve(UPLOADS_PER_PAGE="2"))
    for number in range(3):
        await upload_through_the_picker(page, [make_file(tmp_path, f"file-{number}.txt", 100)])
    await page.goto("/uploads")
    pages = page.get_by_role("navigation", name="Pages of stored files")
    await expect(page.get_by_text("3 files, newest first · page 1 of 2")).to_be_visible()
    await expect(page.locator("tbody tr")).to_have_count(2)
    await expect(list_row(page, "file-2.txt")).to_have_count(1)
    await expect(pages.get_by_role("link", name="Page 1")).to_have_attribute(
        "aria-current", "page"
    )

    await pages.get_by_role("link", name="Older").click()
    await expect(page).to_have_url(re.compile(r"/uploads\?page=2$"))
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(list_row(page, "file-0.txt")).to_have_count(1)
    await expect(pages.get_by_role("link", name="Older")).to_have_count(0)
    await pages.get_by_role("link", name="Newer").click()
    await expect(list_row(page, "file-2.txt")).to_have_count(1)


async def test_the_delete_confirmation_works_with_the_keyboard(
    browsing: Browsing, serve: Serve, tmp_path: Path, uploads: Path
) -> None:
    page = await open_upload_page(browsing, serve())
    await upload_through_the_picker(page, [make_file(tmp_path, "keys.txt", 100)])
    await page.goto("/uploads")
    row = list_row(page, "keys.txt")
    await row.get_by_text("Delete", exact=True).focus()
    await page.keyboard.press("Enter")
    confirm = row.get_by_role("button", name=re.compile("^Yes, delete"))
    await expect(confirm).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(confirm).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("No files are stored yet.")).to_be_visible()
    # A finished tus upload's record stays in .tus/ until it expires (so that the server can
    # still answer a HEAD or a repeated last PATCH); the stored file and its metadata are gone.
    assert [path for path in store_contents(uploads) if ".tus" not in path.parts] == []
