"""A request body handed by the server straight to the app's buffer, outside ASGI's message queue.

Through ASGI, each piece of a request body travels as a message: the server's read loop puts it
in a queue, a task of the app takes it out and appends it to the request's body, and each of
these holds a piece of its own while the next stage is busy. For an upload that is two task
switches and up to three buffered pieces per piece received. Served by ``quart-app serve``,
Hypercorn's HTTP/1.1 protocol offers the app a lane for each request with a body (the request's
task inherits it, as it does the ``100 Continue`` sender): an app that attaches its body buffer
gets the body's bytes appended in the read loop itself, and the read loop waits while that
buffer is full, so that the socket is read only as fast as the app takes the bytes. An app that
reads ASGI messages instead declines the lane and gets them as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Protocol

Deliver = Callable[[bytes], Awaitable[None]]


class BodySink(Protocol):
    """Where an attached lane puts the body's bytes."""

    def feed(self, data: bytes) -> bool:
        """Take ``data``; whether the sender must wait for ``room()`` before sending more."""

    async def room(self) -> None:
        """Return once the sink can take more."""

    def abandon(self) -> None:
        """Drop what the sink holds and whatever still comes, and stop making anyone wait."""


class BodyLane:
    """One request body's way from the server to the app, chosen by the app before it flows."""

    def __init__(self) -> None:
        self._sink: BodySink | None = None
        self._decided = asyncio.Event()

    def attach(self, sink: BodySink) -> None:
        """Have the body's bytes fed to ``sink`` (before the app first reads a message)."""
        if not self._decided.is_set():
            self._sink = sink
            self._decided.set()

    def decline(self) -> None:
        """Have the body's bytes sent as ASGI messages; does nothing once decided."""
        self._decided.set()

    def close(self) -> None:
        """The request is over: no sender waits for the app's choice or for its room."""
        self.decline()
        if self._sink is not None:
            self._sink.abandon()

    async def deliver(self, data: bytes, as_message: Deliver) -> None:
        """Send ``data`` the way the app chose, waiting for its choice and for its room."""
        if not self._decided.is_set():
            await self._decided.wait()
        sink = self._sink
        if sink is None:
            await as_message(data)
        elif sink.feed(data):
            await sink.room()


current_body_lane: ContextVar[BodyLane | None] = ContextVar("current_body_lane", default=None)
