"""Backpressure for Quart: a request body that reads from the client only as fast as it is used.

Quart's own connection appends every ASGI message to the body as soon as Hypercorn
delivers it, so a slow handler lets memory grow with the upload. Here the ASGI
receive loop waits while the body holds its share of the buffer budget, Hypercorn's
bounded app queue then fills, and Hypercorn stops reading the socket. Served by
``quart-app serve``, the body takes the server's lane instead (body_lane.py): the
server's read loop appends to it and waits itself, with no queue and no task between.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from contextlib import suppress
from typing import Any, cast

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, ASGISendEvent
from quart import Quart, Request
from quart.asgi import ASGIHTTPConnection, _handle_exception
from quart.utils import cancel_tasks, raise_task_exceptions
from quart.wrappers.request import Body
from quart.wrappers.response import Response
from werkzeug.exceptions import RequestEntityTooLarge

from .body_lane import current_body_lane
from .interim_responses import send_continue
from .upload_engine.limits import KIB

DEFAULT_HIGH_WATER = 1024 * KIB
LEAST_HIGH_WATER = 64 * KIB


class BufferBudget:
    """Request-body buffer shared by the uploads streaming in one process.

    A lone upload may buffer up to ``most`` bytes, so that receiving overlaps writing; many
    at once share ``total`` (never less than ``LEAST_HIGH_WATER`` each), so that memory
    stops growing with the number of uploads.
    """

    def __init__(self, total: int, *, most: int) -> None:
        self.total = total
        self.most = most
        self.streams = 0

    def share(self) -> int:
        """How much one streaming upload may buffer now."""
        return max(LEAST_HIGH_WATER, min(self.most, self.total // max(self.streams, 1)))


class BoundedBody(Body):
    """A ``Body`` whose buffer is bounded while it is iterated, unbounded once awaited whole.

    It keeps the received chunks in a list rather than Quart's bytearray, so a chunk
    reaches the reader without being copied on the way. The batch a reader took counts
    against the bound until it asks for the next one (it is still being written then), so
    that what a body holds stays within its share of the budget however the reader and the
    sender interleave.
    """

    high_water: int = DEFAULT_HIGH_WATER
    budget: BufferBudget | None = None

    def __init__(
        self, expected_content_length: int | None, max_content_length: int | None
    ) -> None:
        super().__init__(expected_content_length, max_content_length)
        self._expected_length = expected_content_length
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._taken = 0
        self._received = 0
        self._room = asyncio.Event()
        self._room.set()
        self._bounded = True
        self._abandoned = False
        self._reading = False
        self._sharing = False

    def append(self, data: bytes) -> None:
        """Buffer ``data`` without waiting (Quart's interface, used by tests and ``put``)."""
        if not data or self._abandoned:
            return
        if self._must_raise is not None and not self._bounded:
            # Awaited whole and already refused: nothing more needs keeping. A streamed
            # body keeps its bounded buffer, since ``batches()`` may lift the refusal.
            return
        if not self._sharing and self.budget is not None:
            self._sharing = True
            self.budget.streams += 1
        self._chunks.append(data)
        self._buffered += len(data)
        self._received += len(data)
        self._has_data.set()
        if self._max_content_length is not None and self._received > self._max_content_length:
            self._must_raise = RequestEntityTooLarge()
            self.set_complete()

    def feed(self, data: bytes) -> bool:
        """Buffer ``data``; whether the sender must wait for ``room()`` (a body lane's sink)."""
        self.append(data)
        return self._full()

    async def room(self) -> None:
        """Return once the body is below its bound (or no longer bounded)."""
        while self._full():
            self._room.clear()
            await self._room.wait()

    async def put(self, data: bytes) -> None:
        """Buffer ``data``, then wait until the reader has taken enough of what is buffered."""
        self.append(data)
        await self.room()

    def _full(self) -> bool:
        return self._bounded and self._buffered + self._taken >= self._high_water()

    def _high_water(self) -> int:
        if self._sharing and self.budget is not None:
            return self.budget.share()
        return self.high_water

    def leave_budget(self) -> None:
        """Give back this body's share of the budget (the request is over)."""
        if self._sharing and self.budget is not None:
            self.budget.streams -= 1
        self._sharing = False

    def batches(self) -> AsyncIterator[list[bytes]]:
        """The body in batches of chunks as received, with no whole-body size limit (the
        caller enforces its own)."""
        if isinstance(self._must_raise, RequestEntityTooLarge):
            self._must_raise = None
        self._max_content_length = None
        return _Batches(self)

    def limit(self, max_size: int) -> None:
        """Refuse (413) a body over ``max_size`` bytes, declared or received, when it is read."""
        if self._max_content_length is not None and self._max_content_length <= max_size:
            return
        self._max_content_length = max_size
        if max(self._expected_length or 0, self._received) > max_size:
            self._must_raise = RequestEntityTooLarge()
            self.set_complete()

    def abandon(self) -> None:
        """Stop buffering: whatever the client still sends is read and dropped."""
        self._abandoned = True
        self._bounded = False
        self.clear()

    def clear(self) -> None:
        """Drop what is buffered and let the sender go on."""
        self._chunks = []
        self._buffered = 0
        self._taken = 0
        self._room.set()

    async def _start_reading(self) -> None:
        # Only now does the client hear that it may send the body it is holding back.
        if not self._reading:
            self._reading = True
            await send_continue()

    async def __anext__(self) -> bytes:
        chunks = await self.next_batch()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def next_batch(self) -> list[bytes]:
        """Everything buffered, as received (nothing copied); wait for some if there is none.

        Calling it again says that the batch it returned before has been used.
        """
        if self._must_raise is not None:
            raise self._must_raise
        if not self._reading:
            await self._start_reading()
        if self._taken:
            self._taken = 0
            self._room.set()
        if not self._complete.is_set():
            await self._has_data.wait()
        if not self._chunks:
            if self._must_raise is not None:
                raise self._must_raise
            raise StopAsyncIteration()
        chunks = self._chunks
        self._taken = self._buffered
        self._chunks = []
        self._buffered = 0
        self._has_data.clear()
        return chunks

    def __await__(self) -> Generator[Any, None, Any]:
        # Awaiting means "give me everything": the buffer must be allowed to grow.
        self._bounded = False
        self._room.set()
        if self._must_raise is not None:
            raise self._must_raise
        yield from self._start_reading().__await__()
        yield from self._complete.wait().__await__()
        if self._must_raise is not None:
            raise self._must_raise
        return b"".join(self._chunks)


class _Batches:
    """Iterates a ``BoundedBody`` a batch at a time."""

    def __init__(self, body: BoundedBody) -> None:
        self._body = body

    def __aiter__(self) -> _Batches:
        return self

    async def __anext__(self) -> list[bytes]:
        return await self._body.next_batch()


class BoundedRequest(Request):
    """A ``Request`` whose body applies backpressure."""

    body_class = BoundedBody


class BackpressureHTTPConnection(ASGIHTTPConnection):
    """An ASGI HTTP connection that feeds a ``BoundedBody`` at the pace it is read."""

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        """Run the receive loop and the handler; if cancelled, cancel and await both."""
        request = self._create_request_from_scope(send)
        self._bound_body(request.body)
        tasks = {
            asyncio.ensure_future(self.handle_messages(request, receive)),
            asyncio.ensure_future(self.handle_request(request, send)),
        }
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # Quart's own connection leaves both tasks running when the server cancels it
            # at shutdown; an upload in progress must get to delete its temp file.
            await cancel_tasks(tasks)
            raise
        await cancel_tasks(pending)
        raise_task_exceptions(done)

    def _bound_body(self, body: Body) -> None:
        """Set the body's bound, and take the server's lane for it if offered (before any
        message is read, so that no byte of the body takes the other way)."""
        if not isinstance(body, BoundedBody):
            return
        body.high_water = self.app.config.get("UPLOAD_BUFFER_SIZE", DEFAULT_HIGH_WATER)
        body.budget = self.app.extensions.get(_BUDGET_KEY)
        lane = current_body_lane.get()
        if lane is not None:
            lane.attach(body)

    async def handle_messages(self, request: Request, receive: ASGIReceiveCallable) -> None:
        """Move ASGI messages into the body, waiting whenever its buffer is full."""
        body = request.body
        if not isinstance(body, BoundedBody):
            await super().handle_messages(request, receive)
            return
        try:
            while True:
                message = await receive()
                if message["type"] == "http.request":
                    await body.put(message.get("body", b""))
                    if not message.get("more_body", False):
                        body.set_complete()
                elif message["type"] == "http.disconnect":
                    return
        finally:
            # Cancelled once the handler has answered, or the client has gone.
            body.leave_budget()

    async def handle_request(self, request: Request, send: ASGISendCallable) -> None:
        """Handle the request; once a response starts, unread body bytes are dropped.

        As Quart's, but the response's time limit is kept with ``asyncio.timeout`` rather
        than ``asyncio.wait_for``, which on Python 3.11 runs each response in a task of its
        own.
        """
        body = request.body

        async def send_and_release(message: ASGISendEvent) -> None:
            # The handler has answered: block no more on a body it will not read, or
            # Hypercorn's receive queue and ours would wait on each other.
            if isinstance(body, BoundedBody):
                body.abandon()
            await send(message)

        try:
            response = await self.app.handle_request(request)
        except Exception as error:
            response = await _handle_exception(self.app, error)
        if isinstance(response, Response) and response.timeout is not Ellipsis:
            timeout = cast(float | None, response.timeout)
        else:
            timeout = self.app.config["RESPONSE_TIMEOUT"]
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._send_response(cast(ASGISendCallable, send_and_release), response)


_BUDGET_KEY = "upload_buffer_budget"


def install_backpressure(app: Quart) -> None:
    """Make ``app`` use bounded request bodies and the backpressure connection class."""
    app.extensions[_BUDGET_KEY] = BufferBudget(
        app.config.get("UPLOAD_BUFFER_TOTAL", 4 * DEFAULT_HIGH_WATER),
        most=app.config.get("UPLOAD_BUFFER_SIZE", DEFAULT_HIGH_WATER),
    )
    if not issubclass(app.request_class, BoundedRequest):
        bounded = type(app.request_class.__name__, (BoundedRequest, app.request_class), {})
        app.request_class = cast(type[Request], bounded)
    app.asgi_http_class = BackpressureHTTPConnection


def limit_body(request: Request, max_size: int) -> None:
    """Refuse (413) a body over ``max_size`` bytes before reading any of it into memory."""
    body = request.body
    if isinstance(body, BoundedBody):
        body.limit(max_size)


def request_batches(request: Request) -> AsyncIterator[list[bytes]]:
    """The request body as batches of chunks (bounded in all), without Quart's body limit."""
    body = request.body
    if not isinstance(body, BoundedBody):
        raise TypeError("install_backpressure(app) must be called for streaming uploads")
    return body.batches()
