"""Commits that queued up while another was being written, published as one group."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


async def publish_and_settle(
    group: Sequence[tuple[Any, asyncio.Future[T]]],
    publish: Callable[[], Awaitable[Sequence[T | BaseException]]],
) -> None:
    """Run ``publish()`` for a group of waiting commits and hand each its outcome (a result,
    or the error that refused it); an error of the whole run goes to every commit."""
    outcomes: Sequence[T | BaseException]
    try:
        outcomes = await publish()
    except asyncio.CancelledError:  # the loop is closing
        for _, published in group:
            published.cancel()
        raise
    except Exception as error:  # the lock, the journal or the thread failed
        outcomes = [error] * len(group)
    for (_, published), outcome in zip(group, outcomes, strict=True):
        if published.done():
            continue
        if isinstance(outcome, BaseException):
            published.set_exception(outcome)
        else:
            published.set_result(outcome)
