"""The app's Quart class, and the error that stops it from starting with a one-line reason."""

from __future__ import annotations

from types import TracebackType

from quart import Quart


class StartupError(Exception):
    """The app cannot start serving; the message says why in one line (no traceback)."""


class QuartApp(Quart):
    """Quart, logging a ``StartupError`` as its message alone: the reason is known, and a
    traceback in front of it would hide it."""

    def log_exception(
        self,
        exception_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        error = exception_info[1]
        if isinstance(error, StartupError):
            self.logger.error("Cannot start: %s", error)
            return
        super().log_exception(exception_info)


def root_cause(error: BaseException) -> BaseException:
    """The first error of the chain ``error`` was raised from: what to name in a message."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error
