"""What a person does in the browser, shared by the browser tests and the screenshot script."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from .app_settings import DEMO_PASSWORD


async def sign_in_through_the_form(
    page: Page, username: str = "guido-van-rossum", password: str = DEMO_PASSWORD
) -> None:
    """Sign in the way a person does: the form, then the profile page."""
    await page.goto("/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(f"/users/{username}$"))


async def throttle_uploads(page: Page, bytes_per_second: int) -> None:
    """Make the browser send request bodies slowly, as over a poor connection."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )
