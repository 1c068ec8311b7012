"""Replay a parity row against a Flask app or a Quart app and normalise what came back.

Any pair of apps built by `create_app`-style factories can be compared:

    from tests.parity.replay import comparable, parity_config, replay_flask, replay_quart
    from tests.parity.table import ROWS

    for row in ROWS:
        flask_app = flask_create_app(parity_config(tmp / "flask", **row.config))
        quart_app = quart_create_app(parity_config(tmp / "quart", **row.config))
        before = replay_flask(flask_app, row)
        after = await replay_quart(quart_app, row)
        assert comparable(after, row) == comparable(before, row)

`parity_config(folder, **overrides)` is the test suite's `app_config`: test secrets, and the
database and uploads folder under `folder`. `replay_quart` starts the app itself
(`async with app.test_app()`), so `before_serving` hooks run. Both sides receive byte-identical
request bodies: the replay encodes forms and files itself rather than through each test
client's own helpers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import urlencode

from flask import Flask
from flask.sessions import SecureCookieSessionInterface as FlaskCookieSessions
from quart import Quart
from quart.sessions import SecureCookieSessionInterface as QuartCookieSessions
from quart.testing import QuartClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from ..support.app_settings import DEMO_PASSWORD
from ..support.app_settings import app_config as parity_config
from ..support.store_files import is_bookkeeping
from .table import Row

__all__ = [
    "COMPARED_HEADERS",
    "Observed",
    "ReplayError",
    "comparable",
    "parity_config",
    "replay_flask",
    "replay_quart",
]

# Headers a client or a cache acts on. Date, Server and Content-Length are left out: the first
# two belong to the server, and equal bodies already mean equal lengths.
COMPARED_HEADERS = (
    "content-type",
    "location",
    "allow",
    "www-authenticate",
    "vary",
    "cache-control",
    "expires",
    "etag",
    "last-modified",
    "content-disposition",
    "accept-ranges",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "content-security-policy",
    "strict-transport-security",
    "retry-after",
)
_UNORDERED_HEADERS = {"allow", "vary"}
_BOUNDARY = "parity-boundary-7f3a"
_CSRF_INPUT = re.compile(r'(name="csrf_token" value=")([^"]+)(")')
# Stored names are "<safe stem>-<12 hex digits>[.<suffix>]"; the digits are random.
_STORED_NAME_ID = re.compile(r"(?<=[\w.])-[0-9a-f]{12}(?![0-9a-f])")
_COOKIE_DATE = re.compile(r"(Expires=)([^;]+)")
_BASE_FILE_FIELDS = ("name", "original_name", "size", "sha256")
_WRONG_PASSWORD = "not-the-demo-password"


class ReplayError(AssertionError):
    """A row's setup (signing in, fetching a CSRF token) did not go as the table assumes."""


@dataclass(frozen=True)
class Observed:
    """What a client could see of one answer, with random parts replaced by placeholders."""

    status: int
    headers: Mapping[str, str]
    cookies: tuple[str, ...]
    session: str | None
    body: str
    stored: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes | None
    scheme: str
    # A session cookie kept from earlier, put back in the client before sending.
    session: str | None = None


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def _encoded(
    form: Mapping[str, str], files: tuple[tuple[str, str, bytes], ...]
) -> tuple[bytes | None, dict[str, str]]:
    if files:
        values: MultiDict[str, Any] = MultiDict(form.items())
        for field, filename, content in files:
            values.add(field, FileStorage(BytesIO(content), filename=filename, name=field))
        boundary, data = encode_multipart(values, boundary=_BOUNDARY)
        return data, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if form:
        return urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    return None, {}


def _csrf_token(page: _Answer) -> str:
    match = _CSRF_INPUT.search(page.body.decode())
    if match is None:
        raise ReplayError("GET /login carried no CSRF token")
    return match.group(2)


def _set_cookie_value(answer: _Answer, cookie: str) -> str:
    for name, value in answer.headers:
        if name.lower() == "set-cookie" and value.startswith(f"{cookie}="):
            return value.partition("=")[2].partition(";")[0]
    raise ReplayError(f"the answer set no {cookie} cookie")


def _conversation(row: Row, session_cookie: str) -> Generator[_Request, _Answer, _Answer]:
    """The requests one row makes, in order; the answer to the last one is returned."""
    for username, times in row.failed_sign_ins.items():
        token = _csrf_token((yield _Request("GET", "/login", {}, None, row.scheme)))
        form = {"username": username, "password": _WRONG_PASSWORD, "csrf_token": token}
        body, headers = _encoded(form, ())
        for _ in range(times):
            answer = yield _Request("POST", "/login", headers, body, row.scheme)
            if answer.status != 401:
                raise ReplayError(f"a wrong password for {username} answered {answer.status}")
    copied_session: str | None = None
    if row.signed_in:
        token = _csrf_token((yield _Request("GET", "/login", {}, None, row.scheme)))
        form = {"username": row.signed_in, "password": DEMO_PASSWORD, "csrf_token": token}
        body, headers = _encoded(form, ())
        answer = yield _Request("POST", "/login", headers, body, row.scheme)
        if answer.status != 303:
            raise ReplayError(f"signing {row.signed_in} in answered {answer.status}")
        if row.session_copied_before_sign_out:
            copied_session = _set_cookie_value(answer, session_cookie)
            token = _csrf_token((yield _Request("GET", "/login", {}, None, row.scheme)))
            body, headers = _encoded({"csrf_token": token}, ())
            answer = yield _Request("POST", "/logout", headers, body, row.scheme)
            if answer.status != 303:
                raise ReplayError(f"signing {row.signed_in} out answered {answer.status}")
    form = dict(row.form)
    extra_headers: dict[str, str] = {}
    if row.csrf:
        token = _csrf_token((yield _Request("GET", "/login", {}, None, row.scheme)))
        if row.csrf == "form":
            form["csrf_token"] = token
        else:
            extra_headers["X-CSRF-Token"] = token
    body, body_headers = _encoded(form, row.files)
    if row.body is not None:
        body = row.body
    headers = {**body_headers, **extra_headers, **row.headers}
    return (yield _Request(row.method, row.path, headers, body, row.scheme, copied_session))


class _Serializer(Protocol):
    def loads(self, s: str) -> Any: ...


@dataclass(frozen=True)
class _AppFacts:
    session_cookie: str
    serializer: _Serializer
    upload_folder: Path


def _facts(app: Flask | Quart) -> _AppFacts:
    if isinstance(app, Flask):
        assert isinstance(app.session_interface, FlaskCookieSessions)
        serializer = app.session_interface.get_signing_serializer(app)
    else:
        assert isinstance(app.session_interface, QuartCookieSessions)
        serializer = app.session_interface.get_signing_serializer(app)
    assert serializer is not None
    return _AppFacts(
        app.config["SESSION_COOKIE_NAME"], serializer, Path(app.config["UPLOAD_FOLDER"])
    )


def replay_flask(app: Flask, row: Row) -> Observed:
    """Replay `row` with Flask's test client against a fresh client of `app`."""
    client = app.test_client()
    for name, value in row.cookies.items():
        client.set_cookie(name, value)
    facts = _facts(app)
    conversation = _conversation(row, facts.session_cookie)
    request = next(conversation)
    while True:
        if request.session is not None:
            client.set_cookie(facts.session_cookie, request.session)
        with client.open(
            request.path,
            method=request.method,
            headers=dict(request.headers),
            data=request.body,
            base_url=f"{request.scheme}://localhost",
        ) as response:
            answer = _Answer(response.status_code, tuple(response.headers), response.get_data())
        try:
            request = conversation.send(answer)
        except StopIteration as finished:
            return _observe(finished.value, row, facts)


async def replay_quart(app: Quart, row: Row) -> Observed:
    """Start `app`, replay `row` with Quart's test client, and stop the app again."""
    async with app.test_app():
        # The protocol test_client() is typed with leaves open()'s body arguments required.
        client = cast(QuartClient, app.test_client())
        for name, value in row.cookies.items():
            client.set_cookie("localhost", name, value)
        facts = _facts(app)
        conversation = _conversation(row, facts.session_cookie)
        request = next(conversation)
        while True:
            if request.session is not None:
                client.set_cookie("localhost", facts.session_cookie, request.session)
            response = await client.open(
                request.path,
                method=request.method,
                headers=dict(request.headers),
                data=request.body,
                scheme=request.scheme,
            )
            answer = _Answer(
                response.status_code,
                tuple(response.headers.items()),
                await response.get_data(as_text=False),
            )
            try:
                request = conversation.send(answer)
            except StopIteration as finished:
                return _observe(finished.value, row, facts)


def _normalised_text(text: str) -> str:
    text = _CSRF_INPUT.sub(r"\1{csrf}\3", text)
    return _STORED_NAME_ID.sub("-{id}", text)


def _header_value(name: str, values: list[str]) -> str:
    if name in _UNORDERED_HEADERS:
        items = {item.strip() for value in values for item in value.split(",")}
        return ", ".join(sorted(items, key=str.lower))
    if name == "expires":
        return "{date}"
    # The seconds left depend on when each app read its clock; the page names the minutes.
    if name == "retry-after" and all(value.isdigit() for value in values):
        return "{seconds}"
    return ", ".join(values)


def _session_payload(value: str, facts: _AppFacts) -> str | None:
    if not value:
        return None
    payload = dict(facts.serializer.loads(value))
    if "_csrf" in payload:
        payload["_csrf"] = "{csrf}"
    return json.dumps(payload, sort_keys=True)


# The upload engine keeps each file's metadata and its quota ledger in `.meta/`; its temp
# files (`.tmp/*.part`) are still compared, so a partial file left behind would show.
_ENGINE_METADATA = ".meta"


def _stored_files(folder: Path) -> tuple[tuple[str, str], ...]:
    if not folder.exists():
        return ()
    return tuple(
        sorted(
            (_normalised_text(str(path.relative_to(folder))), _digest(path))
            for path in folder.rglob("*")
            if path.is_file()
            and path.relative_to(folder).parts[0] != _ENGINE_METADATA
            and not is_bookkeeping(path)
        )
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _observe(answer: _Answer, row: Row, facts: _AppFacts) -> Observed:
    by_name: dict[str, list[str]] = {}
    for name, value in answer.headers:
        by_name.setdefault(name.lower(), []).append(value)
    headers = {
        name: _header_value(name, by_name[name]) for name in COMPARED_HEADERS if name in by_name
    }
    cookies: list[str] = []
    session: str | None = None
    for cookie in by_name.get("set-cookie", []):
        name, _, rest = cookie.partition("=")
        value, _, attributes = rest.partition(";")
        if name == facts.session_cookie:
            session = _session_payload(value, facts)
            value = "{session}" if value else ""
        if not attributes.lstrip().startswith("Expires=Thu, 01 Jan 1970"):
            attributes = _COOKIE_DATE.sub(r"\1{date}", attributes)
        cookies.append(f"{name}={value};{attributes}")
    # A test client hands back a HEAD answer's body; the HTTP server drops it on the wire.
    body = "" if row.method == "HEAD" else answer.body.decode("utf-8", errors="replace")
    return Observed(
        status=answer.status,
        headers=headers,
        cookies=tuple(sorted(cookies)),
        session=session,
        body=_normalised_text(body),
        stored=_stored_files(facts.upload_folder),
    )


def comparable(observed: Observed, row: Row) -> Observed:
    """Drop from `observed` what the row's intended differences allow to differ."""
    if "static-file-headers" in row.intended:
        dropped = {"cache-control", "expires", "content-disposition", "accept-ranges"}
        observed = dataclasses.replace(
            observed,
            headers={k: v for k, v in observed.headers.items() if k not in dropped},
        )
    if "upload-engine-fields" in row.intended:
        headers = {k: v for k, v in observed.headers.items() if k != "location"}
        observed = dataclasses.replace(
            observed, headers=headers, body=_base_upload_answer(observed)
        )
    if "upload-engine-multi-file" in row.intended:
        observed = _first_file_only(observed)
    if "upload-engine-pages" in row.intended:
        observed = dataclasses.replace(observed, body=_without_engine_links(observed.body))
    return observed


_STORED_FILE_LINK = re.compile(r'<a href="/uploads/[^"]*">([^<]*)</a>')
_LIST_LINK = re.compile(r'<p><a href="/uploads">Stored files</a></p>')
_TUS_ENDPOINT = ' data-tus-endpoint="/files/"'


def _without_engine_links(body: str) -> str:
    body = _LIST_LINK.sub("", body).replace(" multiple required>", " required>")
    body = body.replace(_TUS_ENDPOINT, "")
    return _STORED_FILE_LINK.sub(r"\1", body)


def _base_upload_answer(observed: Observed) -> str:
    try:
        answer = json.loads(observed.body)
    except ValueError:
        return observed.body
    if not isinstance(answer, dict) or "files" not in answer:
        return observed.body
    files = [{key: entry.get(key) for key in _BASE_FILE_FIELDS} for entry in answer["files"]]
    return json.dumps({"files": files}, sort_keys=True)


def _first_file_only(observed: Observed) -> Observed:
    answer = json.loads(observed.body)
    first = answer["files"][:1]
    digests = {entry["sha256"] for entry in first}
    return dataclasses.replace(
        observed,
        body=json.dumps({"files": first}, sort_keys=True),
        stored=tuple(item for item in observed.stored if item[1] in digests),
    )
