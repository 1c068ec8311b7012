"""The release of quart_app: for the package metadata, /healthz and the OpenAPI description."""

from __future__ import annotations

from typing import Final

VERSION: Final = "0.1.0"
