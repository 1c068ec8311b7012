"""The upload page's tus uploads in a real browser: a server restart and a page reload survived,
Cancel terminating on the server, and the multipart path where tus-js-client cannot run."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Dialog, Page, Request, Route, expect

from ..support.app_settings import server_env
from ..support.browsing import WITHOUT_ACCESS_LOG, Browsing
from ..support.live_server import free_port, quart_app_server
from ..support.page_actions import throttle_uploads
from ..support.tus import TUS_AUTH
from .test_upload import (
    TERMINATION_RACE,
    expect_stored,
    make_file,
    open_upload_page,
    row_of,
    settled_store_contents,
    sha256_of,
    stored_digests,
    without_tus_js_client,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Slow enough that 50 MB takes about 15 s, so that the test can act while it is on its way.
_THROTTLED_BYTES_PER_SECOND = 3_500_000
_LARGE_FILE_SIZE = 50_000_000

# What the browser sees while the server is away: refused and broken connections, and the
# answers of a server shutting down or still holding the broken PATCH's lock.
_SERVER_AWAY = (
    r"request failed: (PATCH|HEAD) \S+/files/\S+ \(net::ERR_\w+\)",
    r"console error: Failed to load resource: net::ERR_\w+ \(\S+/files/\S+\)",
    r"HTTP (409|423|503): (PATCH|HEAD) \S+/files/",
    r"console error: Failed to load resource: the server responded with a status of "
    r"(409|423|503) .*/files/",
)


@dataclass
class RestartableSite:
    """The site on a fixed loopback port and folder, which a test may stop and start again."""

    folder: Path
    port: int = field(default_factory=free_port)
    servers: ExitStack = field(default_factory=ExitStack)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve the site (blocking until it listens)."""
        server = quart_app_server(
            server_env(self.folder), extra_args=WITHOUT_ACCESS_LOG, port=self.port
        )
        self.servers.enter_context(server)

    def stop(self) -> None:
        """Stop the server as a deployment does (SIGTERM, graceful), waiting until it exits."""
        self.servers.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[RestartableSite]:
    """A restartable site on its own folders, stopped at the end of the test."""
    restartable = RestartableSite(tmp_path)
    restartable.start()
    yield restartable
    restartable.stop()


@dataclass
class TusRequests:
    """The page's requests to the tus endpoint, in order."""

    seen: list[Request] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("request", self._on_request)

    def _on_request(self, request: Request) -> None:
        if "/files/" in request.url:
            self.seen.append(request)

    def of(self, method: str) -> list[Request]:
        return [request for request in self.seen if request.method == method]


async def percent_sent(page: Page, name: str) -> int:
    text = await row_of(page, name).locator(".upload-percent").inner_text()
    return int(text.rstrip("%") or 0)


async def wait_until_sent(page: Page, name: str, percent: int, *, timeout: float = 60) -> None:
    """Wait until the row shows at least `percent` % sent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await percent_sent(page, name) < percent:
        assert loop.time() < deadline, f"{name} did not reach {percent}% in {timeout} s"
        await asyncio.sleep(0.1)


def accept_dialogs(page: Page) -> None:
    """Leave the page when it asks (it warns before leaving a running upload)."""

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.on("dialog", accept)


async def test_a_50_mb_upload_survives_a_server_restart_and_a_page_reload(
    browsing: Browsing, site: RestartableSite, tmp_path: Path
) -> None:
    for pattern in _SERVER_AWAY:
        browsing.allow(pattern)
    page = await open_upload_page(browsing, site.base_url)
    await expect(page.locator("#upload-form")).to_have_attribute("data-tus-endpoint", "/files/")
    requests = TusRequests()
    requests.watch(page)
    accept_dialogs(page)
    await throttle_uploads(page, _THROTTLED_BYTES_PER_SECOND)
    large = make_file(tmp_path, "large.bin", _LARGE_FILE_SIZE)
    await page.get_by_label("Choose files").set_input_files(large)
    row = row_of(page, large.name)

    # The server stops with part of the file received, and comes back on the same port.
    await wait_until_sent(page, large.name, 20)
    await asyncio.to_thread(site.stop)
    await expect(row.locator(".upload-status")).to_have_text(
        "The connection dropped; reconnecting to resume…"
    )
    await asyncio.to_thread(site.start)
    await expect(row.locator(".upload-status")).to_have_text("Uploading…")
    await wait_until_sent(page, large.name, 50)

    # A reload mid-upload: the page offers to resume it, given the same file again.
    before_reload = len(requests.seen)
    await page.reload()
    unfinished = page.get_by_role("region", name="Unfinished uploads")
    await expect(unfinished).to_contain_text(large.name)
    await expect(unfinished).to_contain_text("50 MB")
    async with page.expect_file_chooser() as chooser_info:
        await unfinished.get_by_role("button", name=f"Resume the upload of {large.name}").click()
    await (await chooser_info.value).set_files(large)
    await expect(unfinished).to_be_hidden()
    await expect_stored(row_of(page, large.name), large)

    # One upload was created and resumed twice (each time asking the server how much it holds),
    # never started again from the beginning.
    assert len(requests.of("POST")) == 1
    assert len(requests.of("HEAD")) >= 2
    offsets = [int(request.headers["upload-offset"]) for request in requests.of("PATCH")]
    assert offsets == sorted(offsets)
    after_reload = [r for r in requests.seen[before_reload:] if r.method == "PATCH"]
    assert int(after_reload[0].headers["upload-offset"]) >= 0.4 * _LARGE_FILE_SIZE
    assert stored_digests(site.folder / "uploads") == [sha256_of(large)]
    await page.reload()
    await expect(page.get_by_role("region", name="Unfinished uploads")).to_be_hidden()


async def test_resume_refuses_another_file_and_discard_terminates_the_upload(
    browsing: Browsing, site: RestartableSite, tmp_path: Path
) -> None:
    page = await open_upload_page(browsing, site.base_url)
    accept_dialogs(page)
    await throttle_uploads(page, 64 * 1024)
    slow = make_file(tmp_path, "slow.bin", 2_000_000)
    requests = TusRequests()
    requests.watch(page)
    await page.get_by_label("Choose files").set_input_files(slow)
    await wait_until_sent(page, slow.name, 1)
    browsing.allow(r"request failed: PATCH \S+/files/\S+ \(net::ERR_ABORTED\)")
    await page.reload()

    unfinished = page.get_by_role("region", name="Unfinished uploads")
    other = make_file(tmp_path, "other.bin", 1_000)
    async with page.expect_file_chooser() as chooser_info:
        await unfinished.get_by_role("button", name=f"Resume the upload of {slow.name}").click()
    await (await chooser_info.value).set_files(other)
    await expect(unfinished.get_by_role("status")).to_have_text(
        "That is not the same file: choose slow.bin (2 MB)."
    )
    await expect(page.locator(".upload-row")).to_have_count(0)

    async with page.expect_response(lambda r: r.request.method == "DELETE") as answer:
        await unfinished.get_by_role("button", name=f"Discard the upload of {slow.name}").click()
    assert (await answer.value).status == 204
    await expect(unfinished).to_be_hidden()
    await expect_terminated(site, requests.of("POST")[0].url, await location_of(requests))


async def location_of(requests: TusRequests) -> str:
    """The upload URL the server gave the page's first creation request."""
    response = await requests.of("POST")[0].response()
    assert response is not None and response.status == 201
    return await response.header_value("Location") or ""


async def expect_terminated(site: RestartableSite, endpoint: str, location: str) -> None:
    """The upload's resource is gone from the server and nothing is stored or listed."""
    async with httpx.AsyncClient(base_url=site.base_url, headers=TUS_AUTH) as http:
        assert (await http.head(httpx.URL(endpoint).join(location))).status_code in (404, 410)
        listing = await http.get("/uploads", headers={"Accept": "application/json"})
        assert listing.json()["files"] == []
    assert await settled_store_contents(site.folder / "uploads") == []


async def test_cancel_terminates_the_upload_on_the_server(
    browsing: Browsing, site: RestartableSite, tmp_path: Path
) -> None:
    page = await open_upload_page(browsing, site.base_url)
    requests = TusRequests()
    requests.watch(page)
    await throttle_uploads(page, 256 * 1024)
    large = make_file(tmp_path, "cancelled.bin", 8_000_000)
    await page.get_by_label("Choose files").set_input_files(large)
    row = row_of(page, large.name)
    await wait_until_sent(page, large.name, 5)
    await expect(row.locator(".upload-speed")).to_have_text(re.compile(r"kB/s$"))
    await expect(row.locator(".upload-eta")).to_have_text(re.compile(r"left$"))

    browsing.allow(r"request failed: PATCH \S+/files/\S+ \(net::ERR_ABORTED\)")
    for pattern in TERMINATION_RACE:
        browsing.allow(pattern)
    async with page.expect_response(
        lambda r: r.request.method == "DELETE" and r.status == 204
    ) as answer:
        await row.get_by_role("button", name=f"Cancel the upload of {large.name}").click()
    await answer.value
    await expect(row).to_have_attribute("data-state", "cancelled")
    await expect(row.locator(".upload-status")).to_have_text("Cancelled; nothing was stored.")
    await expect_terminated(site, requests.of("POST")[0].url, await location_of(requests))
    await page.reload()
    await expect(page.get_by_role("region", name="Unfinished uploads")).to_be_hidden()


async def test_without_tus_js_client_each_file_is_posted_to_the_form_action(
    browsing: Browsing, site: RestartableSite, tmp_path: Path
) -> None:
    page = await open_upload_page(browsing, site.base_url)
    await without_tus_js_client(page)
    requests = TusRequests()
    requests.watch(page)
    files = [make_file(tmp_path, "one.txt", 3_000), make_file(tmp_path, "two.bin", 200_000)]
    async with page.expect_request(lambda r: r.method == "POST") as posted:
        await page.get_by_label("Choose files").set_input_files(files)
    assert (await posted.value).url == f"{site.base_url}/upload"
    for path in files:
        await expect_stored(row_of(page, path.name), path)
    assert requests.seen == []
    assert stored_digests(site.folder / "uploads") == sorted(sha256_of(path) for path in files)


async def test_a_digest_mismatch_in_a_tus_upload_shows_the_servers_error(
    browsing: Browsing, site: RestartableSite, tmp_path: Path
) -> None:
    page = await open_upload_page(browsing, site.base_url)
    path = make_file(tmp_path, "tampered.txt", 3_000)
    announced: list[str] = []

    # Stand in for a corrupting network: the digest the page announces no longer fits the bytes.
    async def corrupt_digest(route: Route) -> None:
        headers = route.request.headers
        if route.request.method == "POST":
            announced.append(headers["upload-metadata"])
            headers["upload-metadata"] = headers["upload-metadata"].replace(
                _base64(sha256_of(path)), _base64("0" * 64)
            )
        await route.continue_(headers=headers)

    await page.route("**/files/**", corrupt_digest)
    browsing.allow(r"\b422\b")
    await page.get_by_label("Choose files").set_input_files(path)

    row = row_of(page, path.name)
    await expect(row).to_have_attribute("data-state", "failed")
    await expect(row.locator(".upload-status")).to_have_text(
        re.compile(r"^'tampered.txt' has SHA-256 [0-9a-f]{64}\.$")
    )
    assert f"sha256 {_base64(sha256_of(path))}" in announced[0].split(",")
    assert stored_digests(site.folder / "uploads") == []


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_an_empty_file_is_stored_by_its_creation_alone(
    browsing: Browsing, site: RestartableSite, tmp_path: Path
) -> None:
    page = await open_upload_page(browsing, site.base_url)
    requests = TusRequests()
    requests.watch(page)
    empty = make_file(tmp_path, "empty.txt", 0)
    await page.get_by_label("Choose files").set_input_files(empty)
    await expect_stored(row_of(page, empty.name), empty)
    assert [request.method for request in requests.seen] == ["POST"]
    assert stored_digests(site.folder / "uploads") == [sha256_of(empty)]
