"""Fixtures for the engine's own tests: a prepared store in a temporary folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from quart_app.upload_engine import UploadStore

from ..support.store_files import store_contents


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[UploadStore]:
    """A prepared store without fsync (the tests do not need durability)."""
    upload_store = UploadStore(tmp_path / "uploads", fsync=False)
    await upload_store.prepare()
    yield upload_store
    await upload_store.close()


def leftover_files(store: UploadStore) -> list[str]:
    """Names of temp files and stored files (not the ledger) still in the store."""
    return sorted(str(path.relative_to(store.root)) for path in store_contents(store.root))
