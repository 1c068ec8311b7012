"""Fixtures for the engine's own tests: a prepared store in a temporary folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from quart_app.upload_engine import UploadStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[UploadStore]:
    """A prepared store without fsync (the tests do not need durability)."""
    upload_store = UploadStore(tmp_path / "uploads", fsync=False)
    await upload_store.prepare()
    yield upload_store
    await upload_store.close()
