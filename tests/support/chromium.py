"""Where the tests and the screenshot script find Chromium, and how they launch it."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Browser, Playwright

INSTALL_COMMAND = "sudo apt-get install -y chromium"

# Offline and quiet: no sandbox (containers, root), no GPU, nothing that phones home.
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


def chromium_path() -> Path:
    """The Chromium binary: $CHROMIUM_PATH, else Debian's /usr/bin/chromium."""
    return Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def missing_chromium_message() -> str | None:
    """Say how to install Chromium when it is missing; None when it is there."""
    path = chromium_path()
    if path.is_file() and os.access(path, os.X_OK):
        return None
    return (
        f"Chromium was not found at {path}. The browser tests need it: install it with "
        f"`{INSTALL_COMMAND}` (Debian/Ubuntu), or point CHROMIUM_PATH at a Chromium binary."
    )


async def launch_chromium(playwright: Playwright) -> Browser:
    """Launch headless Chromium with the project's flags."""
    return await playwright.chromium.launch(
        executable_path=str(chromium_path()), args=list(LAUNCH_ARGS)
    )
