"""One thread that hashes and writes for every upload of a process, a batch per wake-up.

Handing work to a thread costs far more than a little hashing: a round trip through
``run_in_executor`` took 70-85 µs of CPU here, a quarter of the cost of hashing and
writing the 256 KiB it carried, and a third of the whole server's CPU per uploaded GB when
uploads were many and their pieces small. This thread takes whatever has queued up while
it was busy, runs it all, and hands all the results back in one call, so that under load
the cost of a hand-off is shared by every upload waiting.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

T = TypeVar("T")

# How much less of the cores the thread asks for than the event loop, when they are short:
# a page waits behind hashing no longer than the kernel lets it (docs/performance.md).
_LOWER_PRIORITY = 10

_Job = tuple[asyncio.Future[Any], Callable[..., Any], tuple[Any, ...]]
_Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]


class WriterThread:
    """Runs submitted calls in one thread, in order, and resolves their futures on the loop."""

    def __init__(self, name: str) -> None:
        self._name = name
        # A SimpleQueue wakes the thread for a fraction of what a threading.Event costs.
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def submit(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue ``function(*args)``; the future resolves on the caller's loop."""
        loop = asyncio.get_running_loop()
        if self._thread is None:
            self._loop = loop
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((future, function, args))
        return future

    def stop(self) -> None:
        """Let the thread end once what is queued has run."""
        self._jobs.put(None)

    def _run(self) -> None:
        _lower_this_threads_priority()
        stopping = False
        while not stopping:
            job: _Job | None = self._jobs.get()
            outcomes: list[_Outcome] = []
            while job is not None:
                outcomes.append(_run(job))
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
            stopping, job = job is None, None  # let the last job's buffers go
            if outcomes and self._loop is not None:
                # A loop closed meanwhile has nobody left to tell.
                with suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(_settle, outcomes)


def _lower_this_threads_priority() -> None:
    # Linux schedules threads one by one and takes a thread's id here; elsewhere this would
    # change the whole process, so it is left as it is.
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    with suppress(OSError):
        niceness = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(niceness + _LOWER_PRIORITY, 19))


def _run(job: _Job) -> _Outcome:
    # A function of its own, so that nothing keeps a job's arguments (the buffers it wrote)
    # once it has run.
    future, function, args = job
    try:
        return future, function(*args), None
    except BaseException as error:  # handed to the caller, who decides
        return future, None, error


def _settle(outcomes: list[_Outcome]) -> None:
    for future, result, error in outcomes:
        if future.cancelled():
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
