from __future__ import annotations

from typing import Any

import pytest
from hypercorn.config import Config
from hypercorn.logging import AccessLogAtoms

from quart_app.access_log import LazyAccessLogAtoms, LazyAccessLogger
from quart_app.cli import _parser, config_from

REQUEST: Any = {
    "type": "http",
    "http_version": "1.1",
    "method": "POST",
    "scheme": "https",
    "path": "/upload",
    "query_string": b"page=2",
    "headers": [(b"host", b"example"), (b"User-Agent", b"curl/8"), (b"referer", b"/from")],
    "client": ("127.0.0.1", 5123),
}
RESPONSE: Any = {"status": 201, "headers": [(b"content-length", b"256"), (b"X-Id", b"7")]}
KEYS = [
    *("h", "l", "r", "R", "s", "st", "S", "m", "U", "Uq", "q", "H", "b", "B", "f", "a"),
    *("T", "D", "L", "p", "{user-agent}i", "{X-ID}o", "{missing}i", "{path}e", "nonsense"),
]


@pytest.mark.parametrize("response", [RESPONSE, None], ids=["answered", "unanswered"])
def test_every_field_is_what_hypercorn_would_log(response: Any) -> None:
    hypercorn_atoms = AccessLogAtoms(REQUEST, response, 0.0123)
    lazy = LazyAccessLogAtoms(REQUEST, response, 0.0123)
    assert {key: lazy[key] for key in KEYS} == {key: hypercorn_atoms[key] for key in KEYS}


def test_a_whole_line_formats_as_hypercorns_does() -> None:
    # Hypercorn's default format, less the time of day, which may tick between the two.
    line = Config.access_log_format.replace("%(t)s", "")
    lazy, eager = (
        LazyAccessLogAtoms(REQUEST, RESPONSE, 1.5),
        AccessLogAtoms(REQUEST, RESPONSE, 1.5),
    )
    assert (
        line % lazy
        == line % eager
        == '127.0.0.1:5123 - -  "POST /upload 1.1" 201 256 "/from" "curl/8"'
    )


def test_quart_app_serve_logs_with_it() -> None:
    config = config_from(_parser().parse_args(["serve"]))
    assert config.logger_class is LazyAccessLogger
