"""A progress line on stderr for ports that take a while."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


class ProgressLine:
    """Prints `round R: F/N files` once a port has run `delay` seconds, then every `interval`."""

    def __init__(
        self,
        stream: TextIO,
        *,
        delay: float = 1.0,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.next_print = clock() + delay
        self.printed = False

    def __call__(self, round_number: int, done: int, total: int) -> None:
        """Report a file done; prints only when the next line is due."""
        now = self.clock()
        if now < self.next_print:
            return
        self.next_print = now + self.interval
        self.printed = True
        self.stream.write(f"flask2quart: round {round_number}: {done}/{total} files\n")
        self.stream.flush()
