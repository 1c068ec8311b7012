"""Sync code in a Quart app: sync views and hooks run in worker threads; run_sync does the same;
a sync decorator around an async view hands Quart a coroutine."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any

from quart import Quart, request
from quart.utils import run_sync


def _threads_app() -> tuple[Quart, dict[str, int]]:
    app = Quart(__name__)
    threads: dict[str, int] = {}

    @app.before_request
    def remember_hook_thread() -> None:
        threads["sync hook"] = threading.get_ident()

    @app.get("/sync")
    def sync_view() -> str:
        threads["sync view"] = threading.get_ident()
        return f"sync view saw {request.path}"

    @app.get("/async")
    async def async_view() -> str:
        threads["async view"] = threading.get_ident()
        threads["run_sync"] = await run_sync(threading.get_ident)()
        return "async view"

    return app, threads


async def test_sync_views_and_hooks_run_off_the_event_loop_with_the_request_context() -> None:
    app, threads = _threads_app()
    loop_thread = threading.get_ident()
    response = await app.test_client().get("/sync")
    assert await response.get_data(as_text=True) == "sync view saw /sync"
    assert threads["sync view"] != loop_thread
    assert threads["sync hook"] != loop_thread


async def test_async_views_run_on_the_loop_and_run_sync_moves_work_off_it() -> None:
    app, threads = _threads_app()
    loop_thread = threading.get_ident()
    await app.test_client().get("/async")
    assert threads["async view"] == loop_thread
    assert threads["run_sync"] != loop_thread


async def test_a_blocking_call_in_an_async_view_stalls_every_other_request() -> None:
    app = Quart(__name__)

    @app.get("/blocking")
    async def blocking() -> str:
        time.sleep(0.3)  # the mistake this test exists to show
        return "done"

    @app.get("/offloaded")
    async def offloaded() -> str:
        await run_sync(time.sleep)(0.3)
        return "done"

    client = app.test_client()
    for path, stalls in (("/blocking", True), ("/offloaded", False)):
        started = time.monotonic()
        slow = asyncio.ensure_future(client.get(path))
        await asyncio.sleep(0.05)
        await client.get("/nothing-here")
        waited = time.monotonic() - started
        await slow
        assert (waited > 0.25) is stalls, path


async def test_a_sync_decorator_around_an_async_view_hands_quart_a_coroutine() -> None:
    app = Quart(__name__)
    unawaited: list[Coroutine[Any, Any, str]] = []

    def flaskr_style_guard(
        view: Callable[[], Coroutine[Any, Any, str]],
    ) -> Callable[[], Coroutine[Any, Any, str]]:
        @wraps(view)
        def guarded() -> Coroutine[Any, Any, str]:  # the mistake this test exists to show
            unawaited.append(view())
            return unawaited[-1]

        return guarded

    @app.get("/")
    @flaskr_style_guard
    async def index() -> str:
        return "never reached"

    response = await app.test_client().get("/")
    assert response.status_code == 500
    [coroutine] = unawaited
    # Quart ran the wrapper in a thread and got the view's coroutine back, never awaited.
    assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED
    coroutine.close()
