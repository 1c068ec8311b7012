"""The private parts of Quart, Flask and Hypercorn that the project's adapters rely on.

`quart_app/backpressure.py` subclasses Quart's request body and ASGI connection,
`quart_app/hypercorn_adapters.py` Hypercorn's HTTP/1.1 protocol and connection handler (and
moves h11's body reader on by itself), `quart_app/received_chunks.py` takes over asyncio's
stream reader,
`quart_app/server.py` runs Hypercorn's worker, and the app factory removes a context processor
Quart inherits from Flask. pyproject.toml pins the versions these were written against; when a
new release changes one of these names, the tests below say which, before anything subtler
breaks.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import tempfile
from pathlib import Path

import pytest
from quart import Quart
from quart.asgi import ASGIHTTPConnection
from quart.wrappers.request import Body

from quart_app import create_app

from .support.app_settings import app_config

MODULE_ATTRIBUTES = [
    ("quart.asgi", "ASGIHTTPConnection"),
    ("quart.asgi", "_handle_exception"),
    ("quart.wrappers.response", "Response"),
    ("quart.utils", "cancel_tasks"),
    ("quart.utils", "raise_task_exceptions"),
    ("quart.wrappers.request", "Body"),
    ("flask.templating", "_default_template_ctx_processor"),
    ("hypercorn.protocol", "H11Protocol"),
    ("hypercorn.protocol.h11", "H11Protocol"),
    ("hypercorn.asyncio.run", "worker_serve"),
    ("hypercorn.asyncio.run", "TCPServer"),
    ("hypercorn.asyncio.tcp_server", "MAX_RECV"),
    ("hypercorn.utils", "wrap_app"),
    ("hypercorn.protocol.h11", "STREAM_ID"),
    ("hypercorn.protocol.http_stream", "HTTPStream"),
    ("hypercorn.protocol.events", "Body"),
    ("hypercorn.protocol.events", "StreamClosed"),
    ("h11._readers", "ContentLengthReader"),
]

METHODS = [
    (ASGIHTTPConnection, "_create_request_from_scope"),
    (ASGIHTTPConnection, "handle_messages"),
    (ASGIHTTPConnection, "handle_request"),
    (Body, "set_complete"),
    (Body, "append"),
    (Quart, "asgi_http_class"),
    (Quart, "request_class"),
    (Quart, "template_context_processors"),
]


@pytest.mark.parametrize(("module", "name"), MODULE_ATTRIBUTES, ids=lambda v: str(v))
def test_the_modules_still_have_what_the_adapters_use(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


def test_the_classes_still_have_what_the_adapters_override_or_call() -> None:
    quart_app = Quart(__name__)
    missing = [
        f"{owner.__name__}.{name}"
        for owner, name in METHODS
        if not hasattr(owner, name) and not hasattr(quart_app, name)
    ]
    assert missing == []


async def test_quarts_body_keeps_the_state_the_bounded_body_shares() -> None:
    body = Body(10, 5)
    for name in ("_must_raise", "_complete", "_has_data", "_max_content_length"):
        assert hasattr(body, name), f"quart.wrappers.request.Body.{name} is gone"
    assert isinstance(body._complete, asyncio.Event)
    assert body._must_raise is not None, "Body no longer refuses a declared length over the limit"


def test_hypercorns_h11_protocol_has_the_hooks_the_adapter_overrides() -> None:
    from hypercorn.protocol.h11 import H11Protocol

    for name in ("_create_stream", "_send_h11_event", "_send_error_response", "_handle_events"):
        assert inspect.iscoroutinefunction(getattr(H11Protocol, name, None)), (
            f"hypercorn.protocol.h11.H11Protocol.{name} changed"
        )
    source = inspect.getsource(H11Protocol._handle_events)
    assert "they_are_waiting_for_100_continue" in source, (
        "H11Protocol._handle_events no longer asks h11 whether to send 100 Continue"
    )


def test_hypercorns_connection_handler_reads_as_the_adapter_assumes() -> None:
    from hypercorn.asyncio.tcp_server import TCPServer

    idle = inspect.getsource(TCPServer._idle_timeout)
    for used in ("self.context.terminated.wait()", "keep_alive_timeout", "_initiate_server_close"):
        assert used in idle, f"hypercorn.asyncio.tcp_server.TCPServer._idle_timeout: {used}"
    handle_request = inspect.getsource(ASGIHTTPConnection.handle_request)
    for used in ("_handle_exception", "response.timeout", 'config["RESPONSE_TIMEOUT"]'):
        assert used in handle_request, f"quart.asgi.ASGIHTTPConnection.handle_request: {used}"

    source = inspect.getsource(TCPServer._read_data)
    for used in ("self.reader.read(MAX_RECV)", "self.config.read_timeout", "RawData(data)"):
        assert used in source, f"hypercorn.asyncio.tcp_server.TCPServer._read_data: {used}"
    assert "Closed()" in source


def test_h11_keeps_the_state_the_body_pass_through_moves_on() -> None:
    import h11
    from h11._readers import ContentLengthReader

    connection = h11.Connection(h11.SERVER)
    connection.receive_data(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
    assert type(connection.next_event()) is h11.Request
    reader = connection._reader
    assert type(reader) is ContentLengthReader and reader._remaining == 5
    assert not connection._receive_buffer
    assert connection.their_state is h11.SEND_BODY
    assert connection.client_is_waiting_for_100_continue is False
    reader._remaining = 0  # the five bytes went to the app without h11
    assert type(connection.next_event()) is h11.EndOfMessage


async def test_asyncios_stream_reader_is_fed_as_received_chunks_assumes() -> None:
    from asyncio.streams import StreamReaderProtocol

    reader = asyncio.StreamReader()
    reader.feed_data(b"early")
    state = vars(reader)
    assert (state["_buffer"], state["_paused"], state["_eof"]) == (
        bytearray(b"early"),
        False,
        False,
    )
    for method, call in (
        ("data_received", "reader.feed_data(data)"),
        ("eof_received", "reader.feed_eof()"),
        ("connection_lost", "reader.set_exception(exc)"),
    ):
        assert call in inspect.getsource(getattr(StreamReaderProtocol, method)), (
            f"asyncio's StreamReaderProtocol.{method} no longer calls {call}"
        )


async def test_pages_render_without_a_thread_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quart runs sync hooks and context processors in worker threads; none may be left."""
    import quart.app
    import quart.utils

    wrapped: list[str] = []
    real_run_sync = quart.utils.run_sync  # the function quart.app imported

    def recording_run_sync(func: object) -> object:
        wrapped.append(getattr(func, "__qualname__", repr(func)))
        return real_run_sync(func)  # type: ignore[arg-type]

    monkeypatch.setattr(quart.app, "run_sync", recording_run_sync)
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(app_config(Path(folder)))
        async with app.test_app():
            client = app.test_client()
            for path in ("/", "/about", "/login", "/upload", "/stores/locations", "/nowhere"):
                await client.get(path)
    assert wrapped == []
