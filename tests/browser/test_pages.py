"""Every page in a real browser: it loads its CSS and JS, shows no error, fits a phone."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from ..support.app_settings import API_KEY
from ..support.browsing import PHONE, Browsing
from ..support.page_actions import sign_in_through_the_form

pytestmark = pytest.mark.asyncio(loop_scope="session")

# path, the status the page answers with, and the text of its heading.
PAGES = [
    ("/", 200, "Hello World!"),
    ("/about", 200, "About us"),
    ("/users/guido-van-rossum", 200, "guido-van-rossum joined on the date 1991-02-20"),
    ("/users/ada-lovelace", 200, "ada-lovelace joined on the date"),
    ("/users/nobody", 404, "No user was found under that username"),
    ("/stores/locations", 200, "Store locations"),
    ("/stores/locations/cairo", 200, "Yes! We are located in Cairo"),
    ("/stores/locations/paris", 404, "No. We are not located in paris"),
    ("/login", 200, "Sign in"),
    (f"/api/users/guido-van-rossum?key={API_KEY}", 200, "User API"),
    ("/api/users/guido-van-rossum", 401, "User API"),
    ("/upload", 200, "Upload files"),
    ("/uploads", 401, "401 Unauthorized"),
    ("/home", 200, "No username cookie was found"),
    ("/no/such/page", 404, "404 Not Found"),
]

# Every stylesheet and script the page links, and whether the browser has it: a stylesheet
# counts when its rules were parsed, a script when the browser fetched it.
_LINKED_ASSETS = """() => {
    const fetched = new Set(performance.getEntriesByType("resource").map((entry) => entry.name));
    return [
        ...[...document.querySelectorAll("link[rel=stylesheet]")].map((link) => ({
            url: link.href,
            loaded: link.sheet !== null && link.sheet.cssRules.length > 0,
        })),
        ...[...document.querySelectorAll("script[src]")].map((script) => ({
            url: script.src,
            loaded: fetched.has(script.src),
        })),
    ];
}"""

_OVERFLOWS_SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth"

# Controls a person can reach must each have a name: a label, aria-label or text.
_UNNAMED_CONTROLS = """() => [...document.querySelectorAll(
        "input:not([type=hidden]), select, textarea, button, a[href]")]
    .filter((control) => {
        const labelled = control.labels && control.labels.length > 0;
        const named = (control.getAttribute("aria-label") || control.textContent).trim();
        return !labelled && !named;
    })
    .map((control) => control.outerHTML)"""


@pytest.mark.parametrize(("path", "status", "heading"), PAGES)
async def test_page_loads_its_assets_without_errors_on_desktop_and_phone(
    page: Page, path: str, status: int, heading: str
) -> None:
    response = await page.goto(path)
    assert response is not None
    assert response.status == status
    assert response.headers["content-type"].startswith("text/html")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(heading)

    assets = await page.evaluate(_LINKED_ASSETS)
    assert any(asset["url"].endswith("/static/styles/site.css") for asset in assets)
    assert [asset["url"] for asset in assets if not asset["loaded"]] == []
    # The shared stylesheet is really applied: the header is dark, not the browser's default.
    await expect(page.locator(".site-header")).to_have_css("background-color", "rgb(27, 34, 48)")

    await page.set_viewport_size(PHONE)
    assert not await page.evaluate(_OVERFLOWS_SIDEWAYS), f"{path} scrolls sideways on a phone"
    await expect(page.get_by_role("navigation", name="Main")).to_be_visible()


async def test_every_control_has_a_name_signed_in_and_out(page: Page) -> None:
    signed_out = [path for path, _, _ in PAGES]
    for path in signed_out:
        await page.goto(path)
        assert await page.evaluate(_UNNAMED_CONTROLS) == [], path
    await sign_in_through_the_form(page)
    for path in ("/", "/upload", "/uploads", "/users/guido-van-rossum", "/home"):
        await page.goto(path)
        assert await page.evaluate(_UNNAMED_CONTROLS) == [], path


async def test_about_page_script_folds_the_story_and_the_keyboard_opens_it(page: Page) -> None:
    await page.goto("/about")
    toggle = page.get_by_role("button", name="Show more")
    story = page.locator("#about-more")
    await expect(story).to_be_hidden()
    await expect(toggle).to_have_attribute("aria-expanded", "false")

    await toggle.focus()
    await page.keyboard.press("Enter")
    await expect(story).to_be_visible()
    await expect(page.get_by_role("button", name="Show less")).to_have_attribute(
        "aria-expanded", "true"
    )
    await expect(page.locator(".about")).to_have_css("border-top-style", "solid")

    await page.keyboard.press("Space")
    await expect(story).to_be_hidden()


async def test_about_page_shows_the_whole_story_without_javascript(
    browsing: Browsing, site: str
) -> None:
    page = await browsing.open(site, java_script_enabled=False)
    await page.goto("/about")
    await expect(page.locator("#about-more")).to_be_visible()
    await expect(page.locator("#about-more-toggle")).to_be_hidden()


async def test_skip_link_is_the_first_stop_and_jumps_to_the_content(page: Page) -> None:
    await page.goto("/")
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_visible()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile("#content$"))
    await expect(page.locator("main")).to_be_focused()


async def test_navigation_marks_the_current_page(page: Page) -> None:
    nav = page.get_by_role("navigation", name="Main")
    await page.goto("/about")
    await expect(nav.get_by_role("link", name="About")).to_have_attribute("aria-current", "page")
    await page.goto("/users/ada-lovelace")
    await expect(nav.get_by_role("link", name="Profiles")).to_have_attribute(
        "aria-current", "true"
    )
    await expect(nav.get_by_role("link", name="About")).not_to_have_attribute(
        "aria-current", re.compile(".*")
    )


async def test_index_cards_lead_to_every_page(page: Page) -> None:
    await page.goto("/")
    cards = page.get_by_role("list", name="Pages of the tutorial").get_by_role("listitem")
    await expect(cards).to_have_count(8)
    await cards.filter(has_text="Store locations").click()
    await expect(page).to_have_url(re.compile("/stores/locations/omaha$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Yes! We are located in Omaha")


async def test_store_form_finds_a_city_and_says_no_for_others(page: Page) -> None:
    await page.goto("/stores/locations")
    await page.get_by_label("City").fill("stuttgart")
    await page.get_by_role("button", name="Check").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Yes! We are located in Stuttgart"
    )
    await expect(page.get_by_role("link", name="Stuttgart")).to_have_attribute(
        "aria-current", "page"
    )

    await page.get_by_label("City").fill("Atlantis")
    async with page.expect_response(re.compile("/stores/locations/Atlantis$")) as answer:
        await page.get_by_label("City").press("Enter")
    assert (await answer.value).status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "No. We are not located in Atlantis"
    )


async def test_api_page_asks_for_a_key_and_answers_like_the_api(page: Page) -> None:
    response = await page.goto("/api/users/guido-van-rossum")
    assert response is not None
    assert response.status == 401
    await expect(page.locator(".api-answer")).to_have_text("No key provided")

    await page.get_by_label("API key").fill("wrong-key")
    await page.get_by_role("button", name="Ask again").click()
    await expect(page.locator(".api-answer")).to_have_text("Incorrect key")

    await page.get_by_label("API key").fill(API_KEY)
    await page.get_by_role("button", name="Ask again").click()
    await expect(page.locator(".api-answer")).to_have_text(
        "User guido-van-rossum joined on 1991-02-20"
    )


async def test_api_clients_still_get_text_and_json(page: Page) -> None:
    text = await page.request.get(
        "/api/users/guido-van-rossum", headers={"X-API-Key": API_KEY, "Accept": "text/plain"}
    )
    assert await text.text() == "User guido-van-rossum joined on 1991-02-20"
    stores = await page.request.get("/stores/locations/lima", headers={"Accept": "text/plain"})
    assert await stores.text() == "Yes! We are located in Lima"
    json = await page.request.get(
        "/api/users/ada-lovelace",
        headers={"X-API-Key": API_KEY, "Accept": "application/json"},
    )
    assert (await json.json())["username"] == "ada-lovelace"


async def test_the_watch_catches_missing_assets_csp_violations_and_script_errors(
    browsing: Browsing, page: Page
) -> None:
    await page.goto("/")
    async with (
        page.expect_event("requestfailed"),
        page.expect_event("pageerror"),
        page.expect_console_message(lambda message: "Content Security Policy" in message.text),
    ):
        await page.evaluate(
            """() => {
                const link = document.createElement("link");
                link.rel = "stylesheet";
                link.href = "/static/styles/missing.css";
                document.head.append(link);
                const script = document.createElement("script");
                script.textContent = "1";
                document.body.append(script);
                setTimeout(() => { throw new Error("broken page script"); });
            }"""
        )
    problems = "\n".join(browsing.unexpected_problems())
    assert "request failed: GET http://127.0.0.1" in problems
    assert "missing.css" in problems
    assert "Content Security Policy" in problems
    assert "page error: broken page script" in problems
    browsing.allow(".")
