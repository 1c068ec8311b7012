"""The JSON API described in OpenAPI 3.1: served as /openapi.json and read by the /api/docs page.

Written out rather than generated: the upload routes stream their bodies past any request
validator, and the description has to say so (tests/test_openapi.py checks it against the
routes and the real answers).
"""

from __future__ import annotations

from typing import Any, Final

from .version import VERSION

_JSON: Final = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_AUTH_ERRORS: Final = {
    "401": _error("No API key and no signed-in session: `WWW-Authenticate` names the header."),
    "403": _error("A wrong API key, or a signed-in write without the CSRF token."),
}
_STORED_NAME: Final = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The stored name the upload's answer gave (`files[].name`).",
    "schema": {"type": "string"},
}
_SCHEMAS: Final[dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["status", "error", "message"],
        "properties": {
            "status": {"type": "integer", "description": "The HTTP status again."},
            "error": {"type": "string", "description": "Its reason phrase."},
            "message": {"type": "string", "description": "What went wrong, for people."},
        },
    },
    "UserJoined": {
        "type": "object",
        "required": ["username", "joined_on", "message"],
        "properties": {
            "username": {"type": "string"},
            "joined_on": {"type": "string", "format": "date"},
            "message": {"type": "string", "examples": ["User ada-lovelace joined on 1843-09-01"]},
        },
    },
    "StoredFile": {
        "type": "object",
        "required": ["name", "original_name", "size", "sha256", "url", "content_type"],
        "properties": {
            "name": {
                "type": "string",
                "description": "The name it is stored (and fetched) under.",
            },
            "original_name": {"type": "string", "description": "The name the client sent."},
            "size": {"type": "integer", "minimum": 0},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "url": {"type": "string", "description": "Where to GET or DELETE it."},
            "content_type": {"type": "string"},
            "created": {"type": "number", "description": "POSIX time; in listings only."},
        },
    },
    "Uploaded": {
        "type": "object",
        "required": ["files"],
        "properties": {"files": {"type": "array", "items": _ref("StoredFile"), "minItems": 1}},
    },
    "UploadList": {
        "type": "object",
        "required": ["files", "page", "pages", "total"],
        "properties": {
            "files": {"type": "array", "items": _ref("StoredFile")},
            "page": {"type": "integer", "minimum": 1},
            "pages": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "minimum": 0},
        },
    },
    "StoreLocation": {
        "type": "object",
        "required": ["city", "located", "message"],
        "properties": {
            "city": {"type": "string"},
            "located": {"type": "boolean"},
            "message": {"type": "string", "examples": ["Yes! We are located in Cairo"]},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "version", "database_reachable", "upload_store_reachable"],
        "properties": {
            "status": {"enum": ["ok", "failing"]},
            "version": {"type": "string"},
            "database_reachable": {"type": "boolean"},
            "upload_store_reachable": {"type": "boolean"},
        },
    },
}

_USER_API: Final = {
    "get": {
        "operationId": "api.user_api",
        "summary": "When a user joined",
        "description": (
            "The tutorial's API. Plain text unless the client asks for JSON "
            "(`Accept: application/json`); browsers get a page with a key form."
        ),
        "security": [{"apiKeyHeader": []}, {"apiKeyQuery": []}],
        "parameters": [
            {"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": {
                "description": "The user exists.",
                "content": {
                    _JSON: {"schema": _ref("UserJoined")},
                    "text/plain": {"schema": {"type": "string"}},
                },
            },
            "401": _error("No key provided."),
            "403": _error("Incorrect key."),
            "404": _error("User not found."),
        },
    }
}

_UPLOAD: Final = {
    "post": {
        "operationId": "uploads.upload_file",
        "summary": "Store files (streamed)",
        "description": (
            "The body is streamed to disk as it arrives, never read whole, so it is not validated "
            "against this schema before the view runs: the upload engine checks each part as it "
            "comes. A request is all or nothing: a refused or interrupted upload keeps no file. "
            "Any field name may carry files (the page uses `wordlist-upload`); a `sha256` field "
            "applies to the next file part. A signed-in session sends its CSRF token in the "
            "`X-CSRF-Token` header or as a `csrf_token` field before the first file. A client "
            "sending `Expect: 100-continue` is refused (401, 403, 413) before it sends the body."
        ),
        "security": [{"apiKeyHeader": []}, {"apiKeyQuery": []}, {"session": []}],
        "parameters": [
            {
                "name": "Repr-Digest",
                "in": "header",
                "description": "RFC 9530 `sha-256=:<base64>:` of the single file sent (422 if it "
                "differs). `Content-Digest` is read alike.",
                "schema": {"type": "string"},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "wordlist-upload": {
                                "type": "array",
                                "items": {
                                    "type": "string",
                                    "contentMediaType": "application/octet-stream",
                                },
                            },
                            "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                            "csrf_token": {"type": "string"},
                        },
                        "additionalProperties": True,
                    }
                }
            },
        },
        "responses": {
            "201": {
                **_json(_ref("Uploaded"), "Every file is stored."),
                "headers": {
                    "Location": {
                        "description": "The first stored file's URL.",
                        "schema": {"type": "string"},
                    }
                },
            },
            "400": _error("A malformed body, or no file in it."),
            **_AUTH_ERRORS,
            "408": _error("No byte for `UPLOAD_IDLE_TIMEOUT` seconds."),
            "413": _error("A size or count limit (checked on `Content-Length` first)."),
            "415": _error("Not multipart, or a type or extension that is not allowed."),
            "422": _error("A file's SHA-256 differs from the one announced."),
            "503": {
                **_error("The server is stopping: send the upload again (`Retry-After`)."),
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            },
            "507": _error("The quota or the disk is full."),
        },
    }
}

_UPLOADS: Final = {
    "get": {
        "operationId": "uploads.list_uploads",
        "summary": "List stored files, newest first",
        "security": [{"apiKeyHeader": []}, {"apiKeyQuery": []}, {"session": []}],
        "parameters": [
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}
        ],
        "responses": {"200": _json(_ref("UploadList"), "One page of files."), **_AUTH_ERRORS},
    }
}

_STORED_FILE: Final = {
    "parameters": [_STORED_NAME],
    "get": {
        "operationId": "uploads.download",
        "summary": "Download a stored file",
        "description": (
            "An attachment under a safe form of its original name, with its SHA-256 as `ETag`. "
            "RFC 9110 ranges (206; several as `multipart/byteranges`; 416 past the end) and "
            "conditional requests (`If-None-Match`: 304). HEAD answers the same headers."
        ),
        "security": [{"apiKeyHeader": []}, {"apiKeyQuery": []}, {"session": []}],
        "parameters": [
            {"name": "Range", "in": "header", "schema": {"type": "string"}},
            {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
        ],
        "responses": {
            "200": {
                "description": "The whole file.",
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            },
            "206": {"description": "The ranges asked for."},
            "304": {"description": "The client's copy is current."},
            **_AUTH_ERRORS,
            "404": _error("No stored file has that name."),
            "416": {"description": "No range asked for lies within the file."},
        },
    },
    "delete": {
        "operationId": "uploads.delete_upload",
        "summary": "Delete a stored file",
        "description": "A download started before the delete still sends the whole file.",
        "security": [{"apiKeyHeader": []}, {"apiKeyQuery": []}, {"session": []}],
        "responses": {
            "204": {"description": "Deleted."},
            **_AUTH_ERRORS,
            "404": _error("No stored file has that name."),
        },
    },
}

_TUS_SECURITY: Final[list[dict[str, list[str]]]] = [
    {"apiKeyHeader": []},
    {"apiKeyQuery": []},
    {"session": []},
]
_TUS_ERRORS: Final = {
    **_AUTH_ERRORS,
    "404": _error("No upload has that id."),
    "410": _error("The upload expired unfinished."),
    "412": {
        **_error("`Tus-Resumable` is missing or not 1.0.0; `Tus-Version` says which is."),
        "headers": {"Tus-Version": {"schema": {"type": "string"}}},
    },
    "423": _error("Another request is writing to this upload."),
}
_TUS_BODY: Final = {
    "content": {"application/offset+octet-stream": {"schema": {"type": "string"}}},
}
_TUS_WRITE_ERRORS: Final = {
    "400": _error("A malformed header, or an unsupported checksum algorithm."),
    "408": _error("No byte for `UPLOAD_IDLE_TIMEOUT` seconds (the bytes received are kept)."),
    "409": _error("`Upload-Offset` is not the upload's offset."),
    "413": _error("Past `Upload-Length`, or over the size limits."),
    "415": _error("The body is not `application/offset+octet-stream`."),
    "422": _error("The finished file's SHA-256 differs from the one announced; none kept."),
    "460": _error("The chunk's `Upload-Checksum` does not match; the chunk is discarded."),
    "503": _error("The server is stopping (the bytes received are kept)."),
    "507": _error("The quota or the disk is full (the offset stays consistent)."),
}
_TUS_CAPABILITIES: Final = {
    "responses": {
        "204": {
            "description": "`Tus-Version`, `Tus-Extension`, `Tus-Max-Size` and "
            "`Tus-Checksum-Algorithm` (sha1, sha256); CORS preflight answers too."
        }
    }
}

_TUS_UPLOADS: Final = {
    "options": {
        "operationId": "tus.capabilities",
        "summary": "What the tus server supports",
        **_TUS_CAPABILITIES,
    },
    "post": {
        "operationId": "tus.create",
        "summary": "Create a resumable upload (tus 1.0.0)",
        "description": (
            "`Upload-Length` (or `Upload-Defer-Length: 1`) and `Upload-Metadata` (base64 "
            "`filename`, `filetype`, `sha256`); `Upload-Concat: partial` or "
            "`final;/files/a /files/b` to join finished partial uploads. A body of type "
            "`application/offset+octet-stream` is the first chunk (creation-with-upload). "
            "The length is reserved against the quota. Every request but OPTIONS sends "
            "`Tus-Resumable: 1.0.0`; signed-in sessions send `X-CSRF-Token`."
        ),
        "security": _TUS_SECURITY,
        "requestBody": {"required": False, **_TUS_BODY},
        "responses": {
            "201": {
                "description": "Created: `Location` is the upload's URL; `Upload-Expires`.",
                "headers": {"Location": {"schema": {"type": "string"}}},
            },
            **_TUS_ERRORS,
            **_TUS_WRITE_ERRORS,
        },
    },
}

_TUS_UPLOAD: Final = {
    "parameters": [
        {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"}}
    ],
    "options": {
        "operationId": "tus.upload_capabilities",
        "summary": "What the tus server supports (CORS preflight)",
        **_TUS_CAPABILITIES,
    },
    "head": {
        "operationId": "tus.status",
        "summary": "Where a resumable upload stands",
        "security": _TUS_SECURITY,
        "responses": {
            "200": {
                "description": "`Upload-Offset`, `Upload-Length` or `Upload-Defer-Length`, "
                "`Upload-Metadata`, `Upload-Expires`; `Content-Location` once published."
            },
            **_TUS_ERRORS,
        },
    },
    "patch": {
        "operationId": "tus.append",
        "summary": "Send bytes at `Upload-Offset`",
        "description": (
            "Bytes that arrive whole are kept even if the request breaks off; a chunk with "
            "`Upload-Checksum` is kept whole or not at all. The last chunk publishes the file "
            "into the store (`Content-Location` is its URL)."
        ),
        "security": _TUS_SECURITY,
        "requestBody": {"required": True, **_TUS_BODY},
        "responses": {
            "204": {"description": "Kept: `Upload-Offset` is the new offset."},
            **_TUS_ERRORS,
            **_TUS_WRITE_ERRORS,
        },
    },
    "delete": {
        "operationId": "tus.terminate",
        "summary": "Terminate a resumable upload",
        "security": _TUS_SECURITY,
        "responses": {"204": {"description": "Removed; its quota released."}, **_TUS_ERRORS},
    },
    "post": {
        "operationId": "tus.overridden",
        "summary": "PATCH, DELETE or HEAD through `X-HTTP-Method-Override`",
        "security": _TUS_SECURITY,
        "responses": {
            "204": {"description": "As the method overridden."},
            "405": _error("No method, or one that cannot be overridden."),
            **_TUS_ERRORS,
        },
    },
}

_STORE_LOCATION: Final = {
    "get": {
        "operationId": "stores.storefronts",
        "summary": "Is there a store in this city?",
        "description": "JSON with `Accept: application/json`; plain text or a page otherwise.",
        "parameters": [
            {"name": "city", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": _json(_ref("StoreLocation"), "A store is there."),
            "404": _json(_ref("StoreLocation"), "No store is there."),
        },
    }
}

_HEALTH: Final = {
    "get": {
        "operationId": "health.health",
        "summary": "Whether this worker can serve",
        "description": "For load balancers and container health checks; never cached.",
        "responses": {
            "200": _json(_ref("Health"), "The database answers and uploads can be stored."),
            "503": _json(_ref("Health"), "One of them fails."),
        },
    }
}

DESCRIPTION: Final[dict[str, Any]] = {
    "openapi": "3.1.0",
    "info": {
        "title": "quart_app",
        "version": VERSION,
        "description": (
            "The tutorial site's JSON API: the user API, streamed uploads and their store, "
            "store locations and health. Errors are `{status, error, message}`. Clients that "
            "send `Accept: application/json`, and API-key clients that do not ask for HTML, "
            "get JSON."
        ),
        "license": {"name": "MIT", "identifier": "MIT"},
    },
    "paths": {
        "/api/users/{username}": _USER_API,
        "/upload": _UPLOAD,
        "/uploads": _UPLOADS,
        "/uploads/{name}": _STORED_FILE,
        "/files/": _TUS_UPLOADS,
        "/files/{upload_id}": _TUS_UPLOAD,
        "/stores/locations/{city}": _STORE_LOCATION,
        "/healthz": _HEALTH,
    },
    "components": {
        "schemas": _SCHEMAS,
        "securitySchemes": {
            "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "key"},
            "session": {
                "type": "apiKey",
                "in": "cookie",
                "name": "quart_app_session",
                "description": "A signed-in browser's session; writes also need the CSRF token.",
            },
        },
    },
}
