"""Hypercorn's access log, with each line's fields worked out only if the format uses them.

Hypercorn builds every field its access log format could name before each line: a copy of
every request and response header and of the whole environment, and a formatted time,
whatever the format asks for. That was 8% of the time a worker spent per page. The fields
here are the same (Hypercorn's ``access_log_format`` letters), computed when the format
reads them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from http import HTTPStatus
from typing import Any, Final

from hypercorn.logging import Logger
from hypercorn.typing import ResponseSummary, WWWScope

_ABSENT: Final = "-"


class LazyAccessLogAtoms(Mapping[str, Any]):
    """The fields of one access log line, each computed when the format asks for it."""

    def __init__(
        self, request: WWWScope, response: ResponseSummary | None, request_time: float
    ) -> None:
        self._request = request
        self._response = response
        self._time = request_time

    def __getitem__(self, key: str) -> Any:
        if key.startswith("{") and len(key) > 3 and key[-2] == "}":
            name, kind = key[1:-2].lower(), key[-1]
            if kind == "i":
                return self._header(self._request["headers"], name)
            if kind == "o":
                return self._header(self._response_headers(), name)
            if kind == "e":
                return _environment().get(name, _ABSENT)
            return _ABSENT
        field = _FIELDS.get(key)
        return _ABSENT if field is None else field(self)

    def __iter__(self) -> Iterator[str]:
        return iter(_FIELDS)

    def __len__(self) -> int:
        return len(_FIELDS)

    @staticmethod
    def _header(headers: Any, name: str) -> str:
        encoded = name.encode("latin1")
        for key, value in headers:
            if key.lower() == encoded:
                return str(value.decode("latin1"))
        return _ABSENT

    def _response_headers(self) -> Any:
        return self._response.get("headers", []) if self._response is not None else []

    def _remote_address(self) -> str | None:
        client = self._request.get("client")
        if client is None:
            return None
        if len(client) == 2:
            return f"{client[0]}:{client[1]}"
        return str(client[0]) if len(client) == 1 else f"<???{client}???>"

    def _method(self) -> str:
        return str(self._request["method"]) if self._request["type"] == "http" else "GET"

    def _protocol(self) -> str:
        return str(self._request.get("http_version", "ws"))

    def _query(self) -> str:
        return bytes(self._request["query_string"]).decode()

    def _path_with_query(self) -> str:
        query = self._query()
        return self._request["path"] + ("?" + query if query else "")

    def _status(self) -> str:
        return str(self._response["status"]) if self._response is not None else _ABSENT

    def _status_phrase(self) -> str:
        if self._response is None:
            return _ABSENT
        try:
            return HTTPStatus(self._response["status"]).phrase
        except ValueError:
            return f"<???{self._response['status']}???>"


def _environment() -> dict[str, str]:
    return {name.lower(): value for name, value in os.environ.items()}


_Field = Callable[[LazyAccessLogAtoms], Any]
_FIELDS: Final[dict[str, _Field]] = {
    "h": lambda a: a._remote_address(),
    "l": lambda a: _ABSENT,
    "t": lambda a: time.strftime("[%d/%b/%Y:%H:%M:%S %z]"),
    "r": lambda a: f"{a._method()} {a._request['path']} {a._protocol()}",
    "R": lambda a: f"{a._method()} {a._path_with_query()} {a._protocol()}",
    "s": lambda a: a._status(),
    "st": lambda a: a._status_phrase(),
    "S": lambda a: a._request["scheme"],
    "m": lambda a: a._method(),
    "U": lambda a: a._request["path"],
    "Uq": lambda a: a._path_with_query(),
    "q": lambda a: a._query(),
    "H": lambda a: a._protocol(),
    "b": lambda a: a["{Content-Length}o"],
    "B": lambda a: a["{Content-Length}o"],
    "f": lambda a: a["{Referer}i"],
    "a": lambda a: a["{User-Agent}i"],
    "T": lambda a: int(a._time),
    "D": lambda a: int(a._time * 1_000_000),
    "L": lambda a: f"{a._time:.6f}",
    "p": lambda a: f"<{os.getpid()}>",
}


class LazyAccessLogger(Logger):
    """Hypercorn's logger, whose access log fields are computed on demand."""

    def atoms(
        self, request: WWWScope, response: ResponseSummary | None, request_time: float
    ) -> Mapping[str, str]:
        """The fields of the access log line for this request."""
        return LazyAccessLogAtoms(request, response, request_time)
