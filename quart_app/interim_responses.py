"""The "100 Continue" a client may wait for before sending a body, sent once the app reads it.

RFC 9110 lets a client that sends ``Expect: 100-continue`` hold its body back until the
server agrees to take it, so that a refused request (401, 403, 413 ...) costs no upload.
Hypercorn agrees as soon as it has parsed the headers, before the app has looked at them.
Served by ``quart-app serve``, Hypercorn's HTTP/1.1 protocol leaves that answer to the app:
the protocol puts a sender here for each request (the request's task inherits it), and the
app calls ``send_continue`` when it first reads the body. Elsewhere this is a no-op.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar

ContinueSender = Callable[[], Awaitable[None]]

continue_sender: ContextVar[ContinueSender | None] = ContextVar("continue_sender", default=None)


async def send_continue() -> None:
    """Tell a client waiting with ``Expect: 100-continue`` to send its body."""
    sender = continue_sender.get()
    if sender is not None:
        await sender()
