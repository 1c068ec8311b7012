"""The parity table: requests replayed against the Flask original and the Quart port.

Each row is data, so the same table can be replayed against any pair of apps built by
`create_app`-style factories (see replay.py). Add rows whenever a route changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..support.app_settings import API_KEY, DEMO_PASSWORD

JSON = {"Accept": "application/json"}
TEXT = {"Accept": "text/plain"}
HTML = {"Accept": "text/html"}
KEY = {"X-API-Key": API_KEY}

WORDS = b"alpha\nbeta\ngamma\n"
BINARY = bytes(range(256)) * 64

# Differences between the two apps that are meant to be there. A row opts into one by naming
# it in `intended`; replay.comparable() then compares only what the apps must share.
INTENDED_DIFFERENCES: dict[str, str] = {
    "static-file-headers": (
        "Static files go out through each framework's send_file. Flask (since 2.0) defaults "
        "SEND_FILE_MAX_AGE_DEFAULT to None and answers `Cache-Control: no-cache` with "
        "`Content-Disposition: inline` and `Accept-Ranges: bytes`; Quart defaults it to 12 hours "
        "and answers `Cache-Control: public, max-age=43200` with `Expires`. Body, status, "
        "Content-Type, ETag and Last-Modified are still compared."
    ),
    "upload-engine-fields": (
        "The streaming upload engine (issue 3) adds fields to each stored file (`url`, "
        "`content_type`) and a `Location` header; the Flask original answers with the base shape "
        '`{"files": [{"name", "original_name", "size", "sha256"}]}`. Only that base shape and '
        "the other headers are compared."
    ),
    "upload-engine-pages": (
        "The upload form's file input takes several files (`multiple`) and the form and result "
        "pages link the stored-files list (`/uploads`, issue 3); the result page links each "
        "stored file. Pages are compared with those links and the attribute taken out."
    ),
    "upload-engine-multi-file": (
        "With two files in the `wordlist-upload` field the Flask original, like the tutorial's "
        '`request.files["wordlist-upload"]`, stores the first; the streaming engine stores '
        "every part. Only the first stored file is compared."
    ),
}

# Routes only the Quart app has: the upload engine's file management (issue 3).
ADDED_ENDPOINTS: dict[str, str] = {
    "uploads.list_uploads": "GET /uploads lists stored files, paginated",
    "uploads.download": "GET /uploads/<name> sends a stored file as an attachment",
    "uploads.delete_upload": "DELETE /uploads/<name> removes a stored file",
    "uploads.delete_upload_form": "POST /uploads/<name>/delete is the browser's delete form",
    "health.health": "GET /healthz tells load balancers whether the worker can serve",
    "api_docs.openapi_json": "GET /openapi.json describes the JSON API in OpenAPI 3.1",
    "api_docs.page": "GET /api/docs shows that description as a page",
    "tus.capabilities": "OPTIONS /files/ says what the resumable (tus) uploads support",
    "tus.create": "POST /files/ creates a resumable upload",
    "tus.upload_capabilities": "OPTIONS /files/<id> answers tus clients' CORS preflight",
    "tus.status": "HEAD /files/<id> says where a resumable upload stands",
    "tus.append": "PATCH /files/<id> sends bytes of a resumable upload",
    "tus.terminate": "DELETE /files/<id> terminates a resumable upload",
    "tus.overridden": "POST /files/<id> stands for X-HTTP-Method-Override's method",
}

Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class Row:
    """One request, with what must happen before it, and the differences that are intended."""

    id: str
    method: Method
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)
    # (field name, file name, content); several may share a field name.
    files: tuple[tuple[str, str, bytes], ...] = ()
    # A raw body; give its Content-Type in `headers`.
    body: bytes | None = None
    cookies: Mapping[str, str] = field(default_factory=dict)
    # Fail this many sign-ins (a wrong password) for each named account before the request.
    failed_sign_ins: Mapping[str, int] = field(default_factory=dict)
    # Sign this demo user in (GET /login, POST /login) before the request.
    signed_in: str | None = None
    # Then keep a copy of the session cookie, sign out (POST /logout), and send the request
    # with the copy, as whoever copied the cookie would.
    session_copied_before_sign_out: bool = False
    # Send the session's CSRF token (read from GET /login) in the form or in X-CSRF-Token.
    csrf: Literal["form", "header"] | None = None
    scheme: Literal["http", "https"] = "http"
    # App configuration for this row only, on top of replay.parity_config().
    config: Mapping[str, Any] = field(default_factory=dict)
    intended: frozenset[str] = frozenset()


GUIDO = "guido-van-rossum"
_STATIC = frozenset({"static-file-headers"})
_ENGINE = frozenset({"upload-engine-fields"})
_ENGINE_PAGES = frozenset({"upload-engine-pages"})
_XSS = "%3Cscript%3Ealert(1)%3C%2Fscript%3E"


def _upload(name: str, content: bytes = WORDS) -> tuple[tuple[str, str, bytes], ...]:
    return (("wordlist-upload", name, content),)


PAGES = (
    Row("index", "GET", "/"),
    Row("index-signed-in-shows-flash-and-sign-out", "GET", "/", signed_in=GUIDO),
    Row("index-head", "HEAD", "/"),
    Row("index-options", "OPTIONS", "/"),
    Row("index-post-405", "POST", "/"),
    Row("index-query-ignored", "GET", "/?utm=1&x=%00"),
    Row("about", "GET", "/about"),
    Row("about-trailing-slash-404", "GET", "/about/"),
    Row("about-json-client-still-html", "GET", "/about", headers=JSON),
    Row("home-without-cookie", "GET", "/home"),
    Row("home-with-cookie", "GET", "/home", cookies={"username": "ada-lovelace"}),
    Row("home-cookie-escaped", "GET", "/home", cookies={"username": "<b>bold</b>"}),
    Row("home-delete-405", "DELETE", "/home"),
    Row("https-adds-hsts", "GET", "/", scheme="https"),
    Row("unknown-page-404", "GET", "/no/such/page"),
    Row("unknown-page-404-json", "GET", "/no/such/page", headers=JSON),
    Row("unknown-page-reflects-nothing", "GET", f"/{_XSS}"),
    Row("static-css", "GET", "/static/styles/site.css", intended=_STATIC),
    Row("static-js", "GET", "/static/scripts/about-script.js", intended=_STATIC),
    Row("static-missing-404", "GET", "/static/styles/missing.css"),
    Row("static-traversal-404", "GET", "/static/../pyproject.toml"),
    Row("static-encoded-traversal-404", "GET", "/static/%2e%2e/pyproject.toml"),
)

USERS = (
    Row("guido-static-route", "GET", f"/users/{GUIDO}"),
    Row("profile-with-award", "GET", "/users/ada-lovelace"),
    Row("profile-without-awards", "GET", "/users/grace-hopper"),
    Row("profile-unknown-404", "GET", "/users/nobody"),
    Row("profile-escaped", "GET", f"/users/{_XSS}"),
    Row("profile-unicode", "GET", "/users/z%C3%BCrich-fan"),
    Row("users-root-404", "GET", "/users/"),
    Row("profile-post-405", "POST", "/users/ada-lovelace"),
    Row("profile-signed-in", "GET", "/users/ada-lovelace", signed_in=GUIDO),
)

STORES = (
    Row("store-located", "GET", "/stores/locations/omaha"),
    Row("store-any-case", "GET", "/stores/locations/sHaNgHaI"),
    Row("store-not-located-404", "GET", "/stores/locations/Paris"),
    Row("store-unicode", "GET", "/stores/locations/Z%C3%BCrich"),
    Row("store-escaped", "GET", f"/stores/locations/{_XSS}"),
    Row("store-json", "GET", "/stores/locations/cairo", headers=JSON),
    Row("store-json-404", "GET", "/stores/locations/rome", headers=JSON),
    Row("store-text", "GET", "/stores/locations/lima", headers=TEXT),
    Row("store-text-404", "GET", "/stores/locations/oslo", headers=TEXT),
    Row(
        "store-weighted-accept",
        "GET",
        "/stores/locations/nepal",
        headers={"Accept": "text/html;q=0.5, application/json"},
    ),
    Row("store-any-accept", "GET", "/stores/locations/nepal", headers={"Accept": "*/*"}),
    Row("stores-without-city-404", "GET", "/stores/locations/"),
    Row("stores-list-and-city-form", "GET", "/stores/locations"),
    Row("stores-city-form-redirects", "GET", "/stores/locations?city=+Nepal+"),
    Row("stores-city-form-escapes", "GET", f"/stores/locations?city={_XSS}"),
)

_GOOD_LOGIN = {"username": GUIDO, "password": DEMO_PASSWORD}

AUTH = (
    Row("login-form", "GET", "/login"),
    Row("login-form-signed-in", "GET", "/login", signed_in="ada-lovelace"),
    Row("login-success-303", "POST", "/login", form=_GOOD_LOGIN, csrf="form"),
    Row(
        "login-success-over-https", "POST", "/login", form=_GOOD_LOGIN, csrf="form", scheme="https"
    ),
    Row("login-csrf-in-header", "POST", "/login", form=_GOOD_LOGIN, csrf="header"),
    Row(
        "login-username-trimmed",
        "POST",
        "/login",
        form={"username": f"  {GUIDO} ", "password": DEMO_PASSWORD},
        csrf="form",
    ),
    Row(
        "login-wrong-password-401",
        "POST",
        "/login",
        form={"username": GUIDO, "password": "wrong-password"},
        csrf="form",
    ),
    Row(
        "login-unknown-user-401",
        "POST",
        "/login",
        form={"username": "nobody", "password": "whatever"},
        csrf="form",
    ),
    Row("login-empty-400", "POST", "/login", csrf="form"),
    Row(
        "login-blank-username-400",
        "POST",
        "/login",
        form={"username": "   ", "password": "x"},
        csrf="form",
    ),
    Row(
        "login-too-long-400",
        "POST",
        "/login",
        form={"username": "u" * 201, "password": "x"},
        csrf="form",
    ),
    Row(
        "login-escapes-typed-username",
        "POST",
        "/login",
        form={"username": '"><script>x</script>', "password": "x"},
        csrf="form",
    ),
    Row("login-without-csrf-400", "POST", "/login", form=_GOOD_LOGIN),
    Row(
        "login-forged-csrf-400",
        "POST",
        "/login",
        form={**_GOOD_LOGIN, "csrf_token": "forged"},
    ),
    Row("login-without-csrf-400-json", "POST", "/login", form=_GOOD_LOGIN, headers=JSON),
    Row(
        "login-json-body-is-not-a-form",
        "POST",
        "/login",
        body=b'{"username": "guido-van-rossum"}',
        headers={"Content-Type": "application/json"},
    ),
    Row(
        "login-urlencoded-field-over-memory-limit-is-parsed",
        "POST",
        "/login",
        form={"username": "u" * 2048, "password": "x"},
        csrf="form",
        config={"MAX_FORM_MEMORY_SIZE": 1024},
    ),
    Row(
        "login-multipart-field-over-memory-limit-413",
        "POST",
        "/login",
        form={"username": "u" * 2048, "password": "x"},
        files=(("attachment", "note.txt", b"makes the form multipart"),),
        csrf="form",
        config={"MAX_FORM_MEMORY_SIZE": 1024},
    ),
    Row("login-put-405", "PUT", "/login"),
    Row("login-delete-405", "DELETE", "/login"),
    Row("login-patch-405-json", "PATCH", "/login", headers=JSON),
    Row("login-options", "OPTIONS", "/login"),
    Row("logout-303", "POST", "/logout", signed_in=GUIDO, csrf="form"),
    Row("logout-when-signed-out", "POST", "/logout", csrf="form"),
    Row("logout-without-csrf-400", "POST", "/logout", signed_in=GUIDO),
    Row("logout-get-405", "GET", "/logout"),
    Row(
        "login-after-five-failures-429",
        "POST",
        "/login",
        form=_GOOD_LOGIN,
        csrf="form",
        failed_sign_ins={GUIDO: 5},
    ),
    Row(
        "login-after-four-failures-303",
        "POST",
        "/login",
        form=_GOOD_LOGIN,
        csrf="form",
        failed_sign_ins={GUIDO: 4},
    ),
    Row(
        "login-throttle-spares-other-accounts",
        "POST",
        "/login",
        form={"username": "ada-lovelace", "password": DEMO_PASSWORD},
        csrf="form",
        failed_sign_ins={GUIDO: 5},
    ),
    Row(
        "login-over-form-max-size-413",
        "POST",
        "/login",
        form={**_GOOD_LOGIN, "padding": "p" * 16 * 1024},
        csrf="form",
    ),
    Row(
        "logout-over-form-max-size-413-json",
        "POST",
        "/logout",
        form={"padding": "p" * 16 * 1024},
        headers=JSON,
        signed_in=GUIDO,
        csrf="form",
    ),
    Row(
        "session-copied-before-sign-out-is-signed-out",
        "GET",
        "/",
        signed_in=GUIDO,
        session_copied_before_sign_out=True,
    ),
    Row(
        "session-copied-before-sign-out-cannot-upload",
        "POST",
        "/upload",
        files=_upload("a.txt"),
        headers=JSON,
        signed_in=GUIDO,
        session_copied_before_sign_out=True,
    ),
)

API = (
    Row("api-key-in-query", "GET", f"/api/users/{GUIDO}?key={API_KEY}"),
    Row("api-key-in-header", "GET", "/api/users/ada-lovelace", headers=KEY),
    Row("api-json", "GET", f"/api/users/{GUIDO}", headers={**KEY, **JSON}),
    Row("api-html", "GET", f"/api/users/{GUIDO}", headers={**KEY, **HTML}),
    Row("api-no-key-401", "GET", f"/api/users/{GUIDO}"),
    Row("api-empty-key-401", "GET", f"/api/users/{GUIDO}?key="),
    Row("api-no-key-401-json", "GET", f"/api/users/{GUIDO}", headers=JSON),
    Row("api-tutorial-key-403", "GET", f"/api/users/{GUIDO}?key=pA55w0Rd"),
    Row("api-wrong-header-key-403", "GET", f"/api/users/{GUIDO}", headers={"X-API-Key": "no"}),
    Row("api-wrong-key-before-user-403", "GET", "/api/users/nobody?key=wrong"),
    Row("api-unknown-user-404", "GET", "/api/users/nobody", headers=KEY),
    Row("api-unknown-user-404-json", "GET", "/api/users/nobody", headers={**KEY, **JSON}),
    Row("api-escaped-html", "GET", f"/api/users/{_XSS}", headers={**KEY, **HTML}),
    Row("api-post-405", "POST", f"/api/users/{GUIDO}", headers=KEY),
)

UPLOADS = (
    Row("upload-form-anonymous", "GET", "/upload"),
    Row("upload-form-signed-in", "GET", "/upload", signed_in=GUIDO, intended=_ENGINE_PAGES),
    Row(
        "upload-signed-in-html",
        "POST",
        "/upload",
        files=_upload("words.txt"),
        signed_in=GUIDO,
        csrf="form",
        intended=_ENGINE_PAGES,
    ),
    Row(
        "upload-signed-in-json",
        "POST",
        "/upload",
        files=_upload("words.txt"),
        headers=JSON,
        signed_in=GUIDO,
        csrf="form",
        intended=_ENGINE,
    ),
    Row(
        "upload-csrf-in-header",
        "POST",
        "/upload",
        files=_upload("words.txt"),
        signed_in=GUIDO,
        csrf="header",
        intended=_ENGINE_PAGES,
    ),
    Row(
        "upload-api-key",
        "POST",
        "/upload",
        files=_upload("data.bin", BINARY),
        headers=KEY,
        intended=_ENGINE,
    ),
    Row(
        "upload-api-key-in-query",
        "POST",
        f"/upload?key={API_KEY}",
        files=_upload("words.txt"),
        intended=_ENGINE,
    ),
    Row(
        "upload-empty-file",
        "POST",
        "/upload",
        files=_upload("empty.txt", b""),
        headers=KEY,
        intended=_ENGINE,
    ),
    Row(
        "upload-extra-form-fields",
        "POST",
        "/upload",
        form={"note": "kept out of the answer"},
        files=_upload("words.txt"),
        headers=KEY,
        intended=_ENGINE,
    ),
    Row(
        "upload-two-files-one-field",
        "POST",
        "/upload",
        files=(("wordlist-upload", "one.txt", b"one\n"), ("wordlist-upload", "two.txt", b"two\n")),
        headers=KEY,
        intended=_ENGINE | {"upload-engine-multi-file"},
    ),
    *(
        Row(
            f"upload-hostile-name-{index}",
            "POST",
            "/upload",
            files=_upload(hostile, b"payload"),
            headers=KEY,
            intended=_ENGINE,
        )
        for index, hostile in enumerate(
            [
                "../../etc/passwd",
                "..\\..\\boot.ini",
                "/tmp/evil.sh",
                "..",
                ".htaccess",
                "naïve.txt",
            ]
        )
    ),
    Row(
        "upload-bidi-control-in-name-shown",
        "POST",
        "/upload",
        files=_upload("invoice\u202etxt.exe"),
        signed_in=GUIDO,
        csrf="form",
        intended=_ENGINE_PAGES,
    ),
    Row(
        "upload-reflected-name-escaped",
        "POST",
        "/upload",
        files=_upload("<script>x</script>.txt"),
        signed_in=GUIDO,
        csrf="form",
        intended=_ENGINE_PAGES,
    ),
    Row("upload-anonymous-401", "POST", "/upload", files=_upload("a.txt")),
    Row("upload-anonymous-401-json", "POST", "/upload", files=_upload("a.txt"), headers=JSON),
    Row(
        "upload-wrong-key-403",
        "POST",
        "/upload",
        files=_upload("a.txt"),
        headers={"X-API-Key": "wrong", **JSON},
    ),
    Row(
        "upload-signed-in-without-csrf-400",
        "POST",
        "/upload",
        files=_upload("a.txt"),
        signed_in=GUIDO,
    ),
    Row(
        "upload-without-file-400",
        "POST",
        "/upload",
        form={"note": "no file"},
        headers={**KEY, **JSON},
    ),
    Row("upload-no-body-400", "POST", "/upload", headers={**KEY, **JSON}),
    Row(
        "upload-empty-filename-400",
        "POST",
        "/upload",
        files=_upload("", b"data"),
        headers={**KEY, **JSON},
    ),
    Row(
        "upload-over-max-content-length-413",
        "POST",
        "/upload",
        files=_upload("big.txt", b"x" * 4096),
        headers={**KEY, **JSON},
        # Streamed uploads have their own limit; MAX_CONTENT_LENGTH bounds in-memory bodies.
        config={"MAX_CONTENT_LENGTH": 1024, "UPLOAD_MAX_REQUEST_SIZE": 1024},
    ),
    Row(
        "upload-over-max-content-length-413-html",
        "POST",
        "/upload",
        files=_upload("big.txt", b"x" * 4096),
        signed_in=GUIDO,
        csrf="form",
        # Streamed uploads have their own limit; MAX_CONTENT_LENGTH bounds in-memory bodies.
        config={"MAX_CONTENT_LENGTH": 1024, "UPLOAD_MAX_REQUEST_SIZE": 1024},
    ),
    Row("upload-put-405", "PUT", "/upload", headers=KEY),
)

ROWS: tuple[Row, ...] = (*PAGES, *USERS, *STORES, *AUTH, *API, *UPLOADS)
