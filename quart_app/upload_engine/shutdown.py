"""Stopping the server without losing or half-keeping an upload."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import ServerStoppingError


class Shutdown:
    """Once begun, new uploads are refused and those still arriving are cut off at a deadline.

    The deadline comes before the server's own graceful timeout, so that a cut-off upload
    is answered (503 with Retry-After) and cleaned up rather than dropped mid-request.
    """

    def __init__(self) -> None:
        self.deadline: float | None = None
        self._timers: set[asyncio.Timeout] = set()

    @property
    def begun(self) -> bool:
        """Whether the server has started to stop."""
        return self.deadline is not None

    def begin(self, grace: float) -> None:
        """Start stopping: receiving must end within ``grace`` seconds from now."""
        deadline = asyncio.get_running_loop().time() + max(grace, 0.0)
        self.deadline = deadline if self.deadline is None else min(self.deadline, deadline)
        for timer in self._timers:
            when = timer.when()
            timer.reschedule(self.deadline if when is None else min(when, self.deadline))

    def refuse_new_uploads(self) -> None:
        """Raise 503 if the server is stopping."""
        if self.begun:
            raise ServerStoppingError()

    def has_passed(self, now: float) -> bool:
        """Whether the deadline is set and ``now`` (loop time) is at or past it."""
        return self.deadline is not None and now >= self.deadline

    def wait_deadline(self, now: float, idle: float | None) -> float | None:
        """When waiting for the client must end: ``idle`` seconds from ``now``, or sooner at
        the deadline."""
        if idle is None:
            return self.deadline
        return now + idle if self.deadline is None else min(now + idle, self.deadline)

    @contextmanager
    def watching(self, timer: asyncio.Timeout) -> Iterator[None]:
        """Let ``begin`` bring ``timer`` forward to the deadline while the block runs."""
        self._timers.add(timer)
        try:
            yield
        finally:
            self._timers.discard(timer)
