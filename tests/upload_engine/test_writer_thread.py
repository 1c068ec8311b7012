"""The writer thread: calls run in order, results and errors reach their futures, batched."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from quart_app.upload_engine.writer_thread import WriterThread


async def test_calls_run_in_order_in_one_other_thread() -> None:
    writer = WriterThread("test-writer")
    seen: list[tuple[int, str]] = []

    def record(i: int) -> int:
        seen.append((i, threading.current_thread().name))
        return i

    futures = [writer.submit(record, i) for i in range(50)]
    assert await asyncio.gather(*futures) == list(range(50))
    assert [i for i, _ in seen] == list(range(50))
    assert {name for _, name in seen} == {"test-writer"}
    writer.stop()


async def test_an_error_reaches_its_caller_and_the_thread_goes_on() -> None:
    writer = WriterThread("test-writer")

    def fails() -> None:
        raise OSError("disk trouble")

    with pytest.raises(OSError, match="disk trouble"):
        await writer.submit(fails)
    assert await writer.submit(lambda: "still working") == "still working"
    writer.stop()


async def test_what_queues_up_while_the_thread_is_busy_is_handed_back_at_once() -> None:
    writer = WriterThread("test-writer")
    release = threading.Event()
    settled: list[int] = []
    blocker = writer.submit(release.wait, 10)
    queued = [writer.submit(lambda i=i: i) for i in range(20)]
    for future in queued:
        future.add_done_callback(lambda f: settled.append(f.result()))
    release.set()
    await blocker
    await asyncio.sleep(0)
    # The twenty queued calls ran in one wake-up and were settled in one loop callback.
    assert sorted(settled) == list(range(20))
    writer.stop()


async def test_a_cancelled_waiter_does_not_stop_the_call() -> None:
    writer = WriterThread("test-writer")
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        release.wait(10)
        finished.set()

    future = writer.submit(slow)
    waiter = asyncio.ensure_future(asyncio.shield(future))
    await asyncio.to_thread(started.wait, 10)
    waiter.cancel()
    release.set()
    await future
    assert finished.is_set()
    writer.stop()


@pytest.mark.skipif(sys.platform != "linux", reason="thread priorities are Linux's")
async def test_the_thread_yields_the_cores_to_the_event_loop() -> None:
    writer = WriterThread("test-writer")

    def own_niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    loop_niceness = own_niceness()
    assert await writer.submit(own_niceness) == min(loop_niceness + 10, 19)
    writer.stop()
