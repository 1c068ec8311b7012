"""Signing in and out in a real browser: inline errors, the nav, the profile and the cookie."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from ..support.app_settings import DEMO_PASSWORD
from ..support.browsing import Browsing
from ..support.page_actions import sign_in_through_the_form

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_right_password_signs_in_shows_the_user_and_sets_the_cookie(page: Page) -> None:
    await sign_in_through_the_form(page)
    await expect(page.get_by_role("status")).to_have_text("Signed in as guido-van-rossum.")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "guido-van-rossum joined on the date 1991-02-20"
    )
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Signed in as guido-van-rossum")).to_be_visible()
    await expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(nav.get_by_role("link", name="Sign in")).to_have_count(0)

    cookies = {cookie["name"]: cookie for cookie in await page.context.cookies()}
    assert cookies["username"]["value"] == "guido-van-rossum"
    assert cookies["username"]["httpOnly"]
    assert cookies["username"]["sameSite"] == "Lax"

    await nav.get_by_role("link", name="Cookie").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your stored username is guido-van-rossum"
    )
    # HttpOnly: the page's own scripts cannot read it.
    assert "username" not in await page.evaluate("document.cookie")


async def test_sign_out_forgets_the_user_and_the_cookie(page: Page) -> None:
    await sign_in_through_the_form(page, "ada-lovelace")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile("/$"))
    await expect(page.get_by_role("status")).to_have_text("You are signed out.")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    await expect(nav.get_by_role("button", name="Sign out")).to_have_count(0)
    assert "username" not in {cookie["name"] for cookie in await page.context.cookies()}
    await page.goto("/home")
    await expect(page.get_by_role("heading", level=1)).to_have_text("No username cookie was found")


async def test_wrong_password_shows_the_error_inline_and_keeps_the_username(page: Page) -> None:
    await page.goto("/login")
    await page.get_by_label("Username").fill("guido-van-rossum")
    await page.get_by_label("Password", exact=True).fill("not-the-password")
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Sign in").click()
    assert (await answer.value).status == 401

    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    await expect(page.get_by_label("Username")).to_have_value("guido-van-rossum")
    password = page.get_by_label("Password", exact=True)
    await expect(password).to_have_value("")
    await expect(password).to_have_attribute("aria-invalid", "true")
    await expect(password).to_be_focused()
    await expect(password).to_have_accessible_description(
        re.compile("Wrong username or password.")
    )
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert "username" not in {cookie["name"] for cookie in await page.context.cookies()}

    await password.fill(DEMO_PASSWORD)
    await password.press("Enter")
    await expect(page).to_have_url(re.compile("/users/guido-van-rossum$"))


async def test_empty_fields_are_named_inline_before_anything_is_sent(page: Page) -> None:
    await page.goto("/login")
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )
    await page.get_by_role("button", name="Sign in").click()

    username = page.get_by_label("Username")
    await expect(page.locator("#username-error")).to_have_text("Enter your username.")
    await expect(page.locator("#password-error")).to_have_text("Enter your password.")
    await expect(username).to_have_attribute("aria-invalid", "true")
    await expect(username).to_be_focused()
    await expect(username).to_have_accessible_description(re.compile("Enter your username."))

    await username.fill("grace-hopper")
    await expect(page.locator("#username-error")).to_be_hidden()
    await expect(username).not_to_have_attribute("aria-invalid", "true")
    assert posts == []


async def test_password_can_be_shown_and_hidden_again(page: Page) -> None:
    await page.goto("/login")
    password = page.get_by_label("Password", exact=True)
    await password.fill("secret words")
    toggle = page.get_by_role("button", name="Show")
    await toggle.click()
    await expect(password).to_have_attribute("type", "text")
    await expect(page.get_by_role("button", name="Hide")).to_have_attribute("aria-pressed", "true")
    await page.get_by_role("button", name="Hide").click()
    await expect(password).to_have_attribute("type", "password")


async def test_login_works_without_javascript(browsing: Browsing, site: str) -> None:
    page = await browsing.open(site, java_script_enabled=False)
    await page.goto("/login")
    await expect(page.get_by_role("button", name="Show")).to_be_hidden()
    await page.get_by_label("Username").fill("grace-hopper")
    await page.get_by_label("Password", exact=True).fill("wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    await page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile("^grace-hopper joined on the date")
    )
