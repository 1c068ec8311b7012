"""Hypercorn as ``quart-app serve`` runs it: six things it does differently.

1. ``100 Continue`` is sent when the app first reads the body (see interim_responses.py),
   not as soon as the headers are parsed: a client told 401, 403 or 413 never uploads.
2. Answers Hypercorn makes itself (400 for a malformed request, 431 for oversized
   headers, 500 when the app fails before answering) carry the site's security headers,
   which the app adds to its own answers.
3. Each read from a connection is bounded by ``read_timeout`` with ``asyncio.timeout``
   rather than ``asyncio.wait_for``, which on Python 3.11 creates a task per read: for an
   upload, one every 64 KiB. That one change cut the server's CPU per uploaded GB by about
   a quarter (docs/performance.md). A kept-alive connection's idle spell after each
   response is timed the same way.
4. A response's head is written together with the first piece of its body (or its end):
   a page goes out in one write rather than three.
5. Each read takes a whole piece as the event loop received it (up to 256 KiB with uvloop),
   without ``StreamReader``'s copies (received_chunks.py); the bytes of a body with a
   Content-Length go to the app as they are, not through h11's buffer and its two copies.
6. A request body takes the app's lane when the app attaches its buffer (body_lane.py):
   the read loop appends to it directly and waits while it is full.

Hypercorn offers no hook for any of these, so this subclasses its ``H11Protocol`` and
``TCPServer`` and swaps the classes in where Hypercorn looks them up, in the worker
processes of ``quart-app serve`` only. ``tests/test_framework_internals.py`` names each
internal used and fails if a Hypercorn release changes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from typing import Any, Final

import h11
import hypercorn.asyncio.run
import hypercorn.protocol
from h11._readers import ContentLengthReader
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.events import Closed, Event, RawData
from hypercorn.protocol.events import Body, StreamClosed
from hypercorn.protocol.events import Event as StreamEvent
from hypercorn.protocol.h11 import STREAM_ID, H11Protocol
from hypercorn.protocol.http_stream import HTTPStream
from hypercorn.typing import AppWrapper, ASGIReceiveCallable, ASGISendCallable, Scope

from .body_lane import BodyLane, current_body_lane
from .interim_responses import continue_sender
from .received_chunks import ReceivedChunks
from .security import SECURITY_HEADERS

_SECURITY_HEADERS: Final = [
    (name.lower().encode("ascii"), value.encode("ascii"))
    for name, value in SECURITY_HEADERS.items()
]
_MARKER: Final = _SECURITY_HEADERS[0][0]


class _ContinueWhenRead(h11.Connection):
    """An h11 connection that hides a client's wait for ``100 Continue`` from Hypercorn."""

    @property
    def they_are_waiting_for_100_continue(self) -> bool:
        return False

    @property
    def client_awaits_continue(self) -> bool:
        """Whether the client still holds its body back for a ``100 Continue``."""
        return super().they_are_waiting_for_100_continue


class _LaneChoosingApp:
    """Hypercorn's app wrapper: an app that reads an ASGI message before attaching to the
    request's body lane declines it."""

    def __init__(self, app: AppWrapper) -> None:
        self._app = app

    async def __call__(
        self,
        scope: Scope,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
        sync_spawn: Callable[..., Any],
        call_soon: Callable[..., Any],
    ) -> None:
        lane = current_body_lane.get()
        if lane is not None:
            read_message = receive

            async def receive_declining() -> Any:
                lane.decline()
                return await read_message()

            receive = receive_declining
        await self._app(scope, receive, send, sync_spawn, call_soon)


class _BodyThroughLane:
    """An HTTP stream whose request body goes through the request's lane."""

    def __init__(self, stream: HTTPStream, lane: BodyLane) -> None:
        self._stream = stream
        self._lane = lane

    async def handle(self, event: StreamEvent) -> None:
        if type(event) is Body:
            await self._lane.deliver(event.data, self._as_message)
            return
        if type(event) is StreamClosed:
            # However the app ended, a read loop waiting on its lane goes on.
            self._lane.close()
        await self._stream.handle(event)

    async def _as_message(self, data: bytes) -> None:
        await self._stream.handle(Body(stream_id=STREAM_ID, data=data))


class AppLedH11Protocol(H11Protocol):
    """HTTP/1.1 with ``100 Continue`` sent by the app's first read, secured error answers,
    each response's head written with its body, and request bodies passed on uncopied."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = _LaneChoosingApp(self.app)
        self.connection = _ContinueWhenRead(
            h11.SERVER, max_incomplete_event_size=self.config.h11_max_incomplete_size
        )
        self._send_to_socket = self.send
        self.send = self._send_coalesced
        self._head: bytes | None = None
        self._holding_head = False

    async def _send_coalesced(self, event: Any) -> None:
        # A response's head waits for the first piece of its body (or its end), so that a
        # page goes out in one write instead of three.
        if type(event) is RawData:
            if self._holding_head:
                self._holding_head = False
                self._head = event.data
                return
            if self._head is not None:
                event = RawData(self._head + event.data)
                self._head = None
            if not event.data:
                return
        elif self._head is not None:
            head, self._head = self._head, None
            await self._send_to_socket(RawData(head))
        await self._send_to_socket(event)

    async def handle(self, event: Event) -> None:
        if type(event) is RawData and event.data:
            data = await self._parse_head(event.data)
            if data is None:
                return
            reader = self._body_reader()
            if reader is not None:
                data = await self._pass_body_on(reader, data)
                if data is None:
                    return
                if not data:
                    # The body is complete: h11 has its end to report.
                    await self._handle_events()
                    return
            event = RawData(data)
        await super().handle(event)

    async def _parse_head(self, data: bytes) -> bytes | None:
        """Give h11 a request's head in pieces no larger than its limit; what is left after it.

        h11 refuses (431) a head larger than ``h11_max_incomplete_size`` only while the head
        is incomplete, and a whole piece of up to 256 KiB can hold a complete one.
        """
        limit = self.config.h11_max_incomplete_size
        while len(data) > limit and self.connection.their_state is h11.IDLE:
            await super().handle(RawData(data[:limit]))
            data = data[limit:]
        return None if self.connection.their_state is h11.ERROR else data

    def _body_reader(self) -> ContentLengthReader | None:
        """h11's reader of a Content-Length body whose next bytes may skip h11: those still
        to come, once h11 holds nothing received before them."""
        connection = self.connection
        reader = getattr(connection, "_reader", None)
        if (
            type(reader) is ContentLengthReader
            and reader._remaining
            and self.stream is not None
            and connection.their_state is h11.SEND_BODY
            and not connection._receive_buffer
        ):
            return reader
        return None

    async def _pass_body_on(self, reader: ContentLengthReader, data: bytes) -> bytes | None:
        """Send the body's part of ``data`` to the stream as it is; what follows the body, or
        ``None`` if the body goes on."""
        remaining: int = reader._remaining
        if len(data) < remaining:
            body, rest = data, None
        elif len(data) == remaining:
            body, rest = data, b""
        else:
            body, rest = data[:remaining], data[remaining:]
        reader._remaining = remaining - len(body)
        # As h11 does when it parses body bytes itself.
        self.connection.client_is_waiting_for_100_continue = False  # type: ignore[union-attr]
        assert self.stream is not None
        await self.stream.handle(Body(stream_id=STREAM_ID, data=body))
        return rest

    async def _create_stream(self, request: h11.Request) -> None:
        lane = BodyLane() if self._request_has_body() else None
        # The app's task is created in here and inherits this context.
        continue_token = continue_sender.set(self._send_continue)
        lane_token = current_body_lane.set(lane)
        try:
            await super()._create_stream(request)
        finally:
            current_body_lane.reset(lane_token)
            continue_sender.reset(continue_token)
        if lane is not None and type(self.stream) is HTTPStream:
            self.stream = _BodyThroughLane(self.stream, lane)  # type: ignore[assignment]

    def _request_has_body(self) -> bool:
        reader = getattr(self.connection, "_reader", None)
        return not (type(reader) is ContentLengthReader and reader._remaining == 0)

    async def _send_continue(self) -> None:
        connection = self.connection
        if isinstance(connection, _ContinueWhenRead) and connection.client_awaits_continue:
            await super()._send_h11_event(
                h11.InformationalResponse(
                    status_code=100, headers=self.config.response_headers("h11")
                )
            )

    async def _send_h11_event(self, event: Any) -> None:
        if type(event) is h11.Response:
            extra = [] if any(name == _MARKER for name, _ in event.headers) else _SECURITY_HEADERS
            if self.connection.their_state is not h11.DONE:
                # Answered before the request's body has all arrived (a refusal, mostly): the
                # connection closes after it, and the client must not send another request
                # on it (RFC 9112 section 9.6).
                extra = [*extra, (b"connection", b"close")]
            if extra:
                event = h11.Response(
                    status_code=event.status_code,
                    headers=[*event.headers, *extra],
                    reason=event.reason,
                )
        self._holding_head = type(event) is h11.Response
        await super()._send_h11_event(event)
        self._holding_head = False


class TimelyTCPServer(TCPServer):
    """Hypercorn's connection handler, reading whole pieces, with timeouts that cost no task
    per read or per idle spell."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chunks = ReceivedChunks(self.reader, self.writer.transport)

    async def _read_data(self) -> None:
        timeout = self.config.read_timeout
        chunks = self.chunks
        while not chunks.at_eof():
            try:
                async with asyncio.timeout(timeout):
                    data = await chunks.read()
            except OSError:  # a dropped connection, the timeout and TLS errors alike
                break
            await self.protocol.handle(RawData(data))
        await self.protocol.handle(Closed())

    async def _idle_timeout(self) -> None:
        # Started after every response on a kept-alive connection.
        with suppress(TimeoutError):
            async with asyncio.timeout(self.config.keep_alive_timeout):
                await self.context.terminated.wait()
        await asyncio.shield(self._initiate_server_close())


# Where Hypercorn looks its HTTP/1.1 protocol and connection handler up, and what replaces them.
REPLACEMENTS: Final = (
    (hypercorn.protocol, "H11Protocol", AppLedH11Protocol),
    (hypercorn.asyncio.run, "TCPServer", TimelyTCPServer),
)


def install() -> None:
    """Make Hypercorn in this process use ``AppLedH11Protocol`` and ``TimelyTCPServer``."""
    for module, name, replacement in REPLACEMENTS:
        setattr(module, name, replacement)
