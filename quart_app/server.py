"""``quart-app serve``: Hypercorn's workers under a master that stops them gracefully.

Hypercorn's own master (``hypercorn --workers N``) returns as soon as the first worker has
exited and then sends SIGTERM to the others, which kills them mid-request: with one idle
and one busy worker, an upload in flight is cut off unanswered. Its workers also learn of
a shutdown only through Hypercorn, so the app cannot answer the uploads that will not
finish in time. This master keeps Hypercorn's serving code (``worker_serve``) and owns
the process life around it:

- SIGTERM or SIGINT: every worker stops accepting, tells the app (uploads still arriving
  after ``graceful_timeout`` less a margin answer 503 with Retry-After and leave nothing
  behind), and the master waits for *every* worker, killing only those still running
  well past the graceful timeout.
- A worker that dies is replaced. If the app cannot start in the first worker (or workers
  keep dying as soon as they start), the server stops with an error; once it has served, a
  worker whose app cannot start (a store down for a while) is tried again, backing off.
- SIGTERM sent to a single worker restarts that worker gracefully.
"""

from __future__ import annotations

import asyncio
import errno
import importlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as EventType
from typing import Any, Final

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.logging import Logger
from hypercorn.utils import LifespanFailureError, wrap_app
from quart import Quart

from . import hypercorn_adapters
from .config import ENVIRONMENT_PREFIX, SettingsError, settings_from_environment
from .startup_report import startup_report
from .upload_settings import begin_shutdown

APPLICATION: Final = "quart_app.asgi:app"
# Time left, before Hypercorn's graceful timeout cancels what still runs, to answer 503.
_ANSWER_MARGIN: Final = 1.0
# A worker still alive this long after the graceful timeout is killed.
_EXIT_MARGIN: Final = 5.0
# A worker that exits sooner than this after starting failed to start.
_BOOT_SECONDS: Final = 5.0
_BOOT_FAILURES: Final = 3
# A worker whose app failed to start exits with this code (as Gunicorn's do). Before any worker
# has served, every worker would fail alike and the server stops at once; after, the failing
# worker is tried again, first after _RETRY_FIRST seconds, at most every _RETRY_MOST.
_BOOT_ERROR: Final = 3
_RETRY_FIRST: Final = 1.0
_RETRY_MOST: Final = 30.0
_POLL_SECONDS: Final = 0.1

log = logging.getLogger("quart_app.server")


class ServeError(Exception):
    """The server could not start; the message says why in one line."""


def serve(config: Config, settings: Mapping[str, Any]) -> int:
    """Serve ``quart_app.asgi:app`` with ``config`` until SIGTERM or SIGINT; the exit code.

    ``settings`` are the app's, checked: the start-up report tells them once for all workers.
    """
    config.application_path = APPLICATION
    sockets = _create_sockets(config)
    log.info(startup_report(settings, urls=_urls(sockets), workers=config.workers))
    # The report has named the development defaults: the workers need not warn of them again.
    os.environ[f"{ENVIRONMENT_PREFIX}_WARN_DEVELOPMENT_DEFAULTS"] = "false"
    context = multiprocessing.get_context("spawn")
    stop = context.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log.info("%s received: stopping gracefully", signal.Signals(signum).name)
        stop.set()

    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    workers: dict[BaseProcess, float] = {}
    # How many workers have started serving, ever: until one has, the app cannot start.
    serving = context.Value("i", 0)
    exit_code = 0
    try:
        boot_failures = 0
        refused_starts, retry_at, seen_serving = 0, 0.0, 0
        while not stop.is_set():
            if serving.value != seen_serving:
                seen_serving, refused_starts = serving.value, 0
            for _ in range(config.workers - len(workers) if time.monotonic() >= retry_at else 0):
                worker = context.Process(
                    target=_run_worker,
                    args=(config, sockets, stop, serving),
                    name="quart-app worker",
                )
                worker.start()
                workers[worker] = time.monotonic()
            wait([process.sentinel for process in workers], timeout=_POLL_SECONDS)
            for process, started in list(workers.items()):
                if process.is_alive() or stop.is_set():
                    continue
                del workers[process]
                process.join()
                log.warning("Worker %s exited with code %s", process.pid, process.exitcode)
                lived = time.monotonic() - started
                if process.exitcode != _BOOT_ERROR:
                    # Retried start failures are counted (and backed off) on their own.
                    boot_failures = boot_failures + 1 if lived < _BOOT_SECONDS else 0
                if process.exitcode == _BOOT_ERROR and serving.value == 0:
                    log.error("The app could not start; stopping (see the error above)")
                    exit_code = 1
                    stop.set()
                elif process.exitcode == _BOOT_ERROR:
                    # The others serve on; what it needs (a store, the database) may be back
                    # soon, so its replacement tries again, less often the more it fails.
                    refused_starts += 1
                    delay = min(_RETRY_FIRST * 2 ** (refused_starts - 1), _RETRY_MOST)
                    log.warning("A worker could not start; the next tries in %.0f s", delay)
                    retry_at = time.monotonic() + delay
                elif process.exitcode and boot_failures >= _BOOT_FAILURES:
                    log.error("Workers fail to start; stopping (see the errors above)")
                    exit_code = 1
                    stop.set()
        _stop_workers(workers, deadline=time.monotonic() + config.graceful_timeout + _EXIT_MARGIN)
    finally:
        stop.set()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for sock in [*sockets.secure_sockets, *sockets.insecure_sockets]:
            sock.close()
    return exit_code


def _create_sockets(config: Config) -> Sockets:
    try:
        return config.create_sockets()
    except OSError as error:
        binds = ", ".join(config.bind)
        if error.errno == errno.EADDRINUSE:
            raise ServeError(
                f"Cannot listen on {binds}: the address is already in use. Stop the other "
                "server, or choose another address with --bind HOST:PORT."
            ) from None
        raise ServeError(f"Cannot listen on {binds}: {error.strerror}.") from None


def _urls(sockets: Sockets) -> list[str]:
    urls = []
    for scheme, group in (("https", sockets.secure_sockets), ("http", sockets.insecure_sockets)):
        for sock in group:
            if sock.family == socket.AF_UNIX:
                urls.append(f"unix:{sock.getsockname()}")
                continue
            host, port = sock.getsockname()[:2]
            urls.append(
                f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"
            )
    return urls


def _stop_workers(workers: dict[BaseProcess, float], *, deadline: float) -> None:
    for process in workers:
        process.join(max(deadline - time.monotonic(), 0))
    for process in workers:
        if process.is_alive():
            log.error("Worker %s did not stop in time; killing it", process.pid)
            process.kill()
            process.join()


def _run_worker(
    config: Config, sockets: Sockets, stop: EventType, serving: Synchronized[int]
) -> None:
    """One worker process: Hypercorn serving the app until the master or a SIGTERM says stop;
    ``serving`` counts the workers whose app has started."""
    # Ctrl-C reaches every process of the terminal's group: the master alone decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Hypercorn would configure logging only once the app has started: its start-up is logged too.
    configure_logging(config)
    hypercorn_adapters.install()
    module_name, _, attribute = APPLICATION.partition(":")
    app = getattr(importlib.import_module(module_name), attribute)

    async def count_as_serving() -> None:
        with serving.get_lock():
            serving.value += 1

    # Registered after the app's own: it runs once they all have succeeded.
    app.before_serving(count_as_serving)

    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if config.worker_class == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        try:
            runner.run(
                worker_serve(
                    wrap_app(app, config.wsgi_max_body_size, "asgi"),
                    config,
                    sockets=sockets,
                    shutdown_trigger=lambda: _until_stopped(app, config, stop),
                )
            )
        except LifespanFailureError:
            # The app has logged why. What it opened before failing (the database's thread, the
            # store's client) would keep the process alive, and needs no closing: the next
            # start recovers from it as from a crash.
            logging.shutdown()
            os._exit(_BOOT_ERROR)


async def _until_stopped(app: Quart, config: Config, stop: EventType) -> None:
    """Return (so that Hypercorn stops accepting) once told to stop; warn the app first."""
    terminated = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminated.set)
    while not stop.is_set():
        with suppress(TimeoutError):
            await asyncio.wait_for(terminated.wait(), _POLL_SECONDS)
            break
    margin = min(_ANSWER_MARGIN, config.graceful_timeout / 4)
    begin_shutdown(app, grace=config.graceful_timeout - margin)


def configure_logging(config: Config) -> None:
    """Log in this process as ``config`` says (its ``logconfig``, as Hypercorn reads it)."""
    # Hypercorn's logger applies the configuration when it is made; this one is not kept, so
    # that ``config`` can still be sent to the workers.
    Logger(config)


def main_serve(config: Config) -> int:
    """Run ``serve`` for the command line: a one-line error and exit code 2 if it cannot start
    (a wrong setting, an address in use)."""
    try:
        return serve(config, settings_from_environment())
    except (ServeError, SettingsError) as error:
        print(f"quart-app: {error}", file=sys.stderr)
        return 2
