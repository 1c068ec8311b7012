from __future__ import annotations

import base64
import hashlib

import pytest

from quart_app.upload_engine import MalformedUploadError, sha256_from_digest_header

DIGEST = hashlib.sha256(b"data").digest()
ENCODED = base64.b64encode(DIGEST).decode()


@pytest.mark.parametrize(
    "header",
    [
        f"sha-256=:{ENCODED}:",
        f"SHA-256=:{ENCODED}:",
        f"sha-512=:{base64.b64encode(bytes(64)).decode()}:, sha-256=:{ENCODED}:",
    ],
)
def test_sha256_is_read_from_the_header(header: str) -> None:
    assert sha256_from_digest_header(header) == DIGEST.hex()


@pytest.mark.parametrize("header", [None, "", "sha-512=:AAAA:", "md5=abc"])
def test_headers_without_sha256_give_none(header: str | None) -> None:
    assert sha256_from_digest_header(header) is None


@pytest.mark.parametrize(
    "header",
    ["sha-256=abc", "sha-256=:not base64!:", f"sha-256=:{base64.b64encode(b'short').decode()}:"],
)
def test_malformed_sha256_is_refused(header: str) -> None:
    with pytest.raises(MalformedUploadError):
        sha256_from_digest_header(header)
