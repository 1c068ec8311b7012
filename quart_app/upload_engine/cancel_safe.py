"""Acquiring a resource in a worker thread without leaking it when the caller is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def acquire_in_thread(acquire: Callable[[], T], release: Callable[[T], None]) -> T:
    """Run ``acquire`` in a worker thread; if the caller is cancelled, ``release`` its result.

    A thread cannot be stopped: cancelling the awaiting task leaves it running, and what it
    returns (an open descriptor, a created file) would otherwise belong to nobody.
    """
    loop = asyncio.get_running_loop()
    acquiring = loop.run_in_executor(None, acquire)
    try:
        return await asyncio.shield(acquiring)
    except asyncio.CancelledError:

        def release_later(done: asyncio.Future[T]) -> None:
            if not done.cancelled() and done.exception() is None:
                loop.run_in_executor(None, release, done.result())

        acquiring.add_done_callback(release_later)
        raise
