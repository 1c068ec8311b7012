"""Reading an expected SHA-256 from ``Repr-Digest``/``Content-Digest`` headers (RFC 9530)."""

from __future__ import annotations

import base64
import binascii

from .errors import MalformedUploadError


def sha256_from_digest_header(value: str | None) -> str | None:
    """The hex SHA-256 announced as ``sha-256=:<base64>:``, or ``None`` if none is given."""
    if not value:
        return None
    for member in value.split(","):
        algorithm, _, encoded = member.strip().partition("=")
        if algorithm.strip().lower() != "sha-256":
            continue
        encoded = encoded.strip()
        if len(encoded) < 2 or encoded[0] != ":" or encoded[-1] != ":":
            raise MalformedUploadError("A sha-256 digest must be written as :<base64>:.")
        try:
            digest = base64.b64decode(encoded[1:-1], validate=True)
        except binascii.Error:
            raise MalformedUploadError("The sha-256 digest is not valid base64.") from None
        if len(digest) != 32:
            raise MalformedUploadError("A sha-256 digest is 32 bytes long.")
        return digest.hex()
    return None
