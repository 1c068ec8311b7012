"""Acquiring a resource in a worker thread without leaking it when the caller is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

# Runs a call in some thread and gives its outcome as a future of the running loop.
Submit = Callable[[Callable[[], Any]], "asyncio.Future[Any]"]


async def acquire_in_thread(
    acquire: Callable[[], T], release: Callable[[T], None], *, submit: Submit | None = None
) -> T:
    """Run ``acquire`` in a worker thread (the default executor's, unless ``submit`` says
    otherwise); if the caller is cancelled, ``release`` its result.

    A thread cannot be stopped: cancelling the awaiting task leaves it running, and what it
    returns (an open descriptor, a created file) would otherwise belong to nobody.
    """
    run: Submit = submit or partial(asyncio.get_running_loop().run_in_executor, None)
    acquiring: asyncio.Future[T] = run(acquire)
    try:
        return await asyncio.shield(acquiring)
    except asyncio.CancelledError:

        def release_later(done: asyncio.Future[T]) -> None:
            if not done.cancelled() and done.exception() is None:
                run(partial(release, done.result()))

        acquiring.add_done_callback(release_later)
        raise
