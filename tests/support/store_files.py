"""What an upload store's folder holds, its own bookkeeping left out."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from quart_app.upload_engine import UploadStore

# The quota ledger, the store's lock, and the lock each running store instance holds.
_BOOKKEEPING_NAMES: Final = frozenset({".lock", ".usage"})
OWNER_SUFFIX: Final = ".owner"


def is_bookkeeping(path: Path | str) -> bool:
    """Whether `path` is one of the store's own bookkeeping files rather than content."""
    path = Path(path)
    return path.name in _BOOKKEEPING_NAMES or path.suffix == OWNER_SUFFIX


def store_contents(folder: Path) -> list[Path]:
    """Every file under the store's folder, hidden temp and metadata files included, but its
    bookkeeping: a partial file left behind would show."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not is_bookkeeping(p))


def leftover_files(store: UploadStore) -> list[str]:
    """Names of temp files and stored files (not the ledger) still in the store."""
    return sorted(str(path.relative_to(store.root)) for path in store_contents(store.root))
