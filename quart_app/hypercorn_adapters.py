"""Hypercorn as ``quart-app serve`` runs it: four things it does differently.

1. ``100 Continue`` is sent when the app first reads the body (see interim_responses.py),
   not as soon as the headers are parsed: a client told 401, 403 or 413 never uploads.
2. Answers Hypercorn makes itself (400 for a malformed request, 431 for oversized
   headers, 500 when the app fails before answering) carry the site's security headers,
   which the app adds to its own answers.
3. Each read from a connection is bounded by ``read_timeout`` with ``asyncio.timeout``
   rather than ``asyncio.wait_for``, which on Python 3.11 creates a task per read: for an
   upload, one every 64 KiB. That one change cut the server's CPU per uploaded GB by about
   a quarter (docs/performance.md).
4. A response's head is written together with the first piece of its body (or its end):
   a page goes out in one write rather than three.

Hypercorn offers no hook for any of these, so this subclasses its ``H11Protocol`` and
``TCPServer`` and swaps the classes in where Hypercorn looks them up, in the worker
processes of ``quart-app serve`` only. ``tests/test_framework_internals.py`` names each
internal used and fails if a Hypercorn release changes it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import h11
import hypercorn.asyncio.run
import hypercorn.protocol
from hypercorn.asyncio.tcp_server import MAX_RECV, TCPServer
from hypercorn.events import Closed, RawData
from hypercorn.protocol.h11 import H11Protocol

from .interim_responses import continue_sender
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


class AppLedH11Protocol(H11Protocol):
    """HTTP/1.1 with ``100 Continue`` sent by the app's first read, secured error answers, and
    each response's head written with its body."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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

    async def _create_stream(self, request: h11.Request) -> None:
        # The app's task is created in here and inherits this context.
        token = continue_sender.set(self._send_continue)
        try:
            await super()._create_stream(request)
        finally:
            continue_sender.reset(token)

    async def _send_continue(self) -> None:
        connection = self.connection
        if isinstance(connection, _ContinueWhenRead) and connection.client_awaits_continue:
            await super()._send_h11_event(
                h11.InformationalResponse(
                    status_code=100, headers=self.config.response_headers("h11")
                )
            )

    async def _send_h11_event(self, event: Any) -> None:
        if type(event) is h11.Response and all(name != _MARKER for name, _ in event.headers):
            event = h11.Response(
                status_code=event.status_code,
                headers=[*event.headers, *_SECURITY_HEADERS],
                reason=event.reason,
            )
        self._holding_head = type(event) is h11.Response
        await super()._send_h11_event(event)
        self._holding_head = False


class TimelyTCPServer(TCPServer):
    """Hypercorn's connection handler, reading with a timeout that costs no task per read."""

    async def _read_data(self) -> None:
        timeout = self.config.read_timeout
        while not self.reader.at_eof():
            try:
                async with asyncio.timeout(timeout):
                    data = await self.reader.read(MAX_RECV)
            except OSError:  # a dropped connection, the timeout and TLS errors alike
                break
            await self.protocol.handle(RawData(data))
        await self.protocol.handle(Closed())


def install() -> None:
    """Make Hypercorn in this process use ``AppLedH11Protocol`` and ``TimelyTCPServer``."""
    hypercorn.protocol.H11Protocol = AppLedH11Protocol  # type: ignore[attr-defined]
    hypercorn.asyncio.run.TCPServer = TimelyTCPServer  # type: ignore[attr-defined]
