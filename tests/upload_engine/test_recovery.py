"""A process killed at any step of a commit: the next start keeps all of it or none of it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from quart_app.upload_engine import UploadStore, storage

FILES = [(f"{i}.bin", bytes([i]) * (1000 * (i + 1))) for i in range(3)]


def _commit_and_die_at(root: str, crash_at: int, fsync: bool, steps_seen: Any) -> None:
    """Commit three files, dying (as SIGKILL would: no cleanup) before step ``crash_at``."""
    steps = 0

    def step(real: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal steps
            if steps == crash_at:
                os._exit(9)
            result = real(*args, **kwargs)
            steps += 1
            steps_seen.value = steps
            return result

        return counted

    async def commit() -> None:
        store = UploadStore(Path(root), fsync=fsync)
        await store.prepare()
        uploads = []
        for name, content in FILES:
            upload = await store.begin(name, "application/octet-stream")
            await upload.write([content])
            await upload.finish()
            uploads.append(upload)
        storage.write_new = step(storage.write_new)  # type: ignore[attr-defined]
        storage.write_in_place = step(storage.write_in_place)  # type: ignore[attr-defined]
        storage.fsync_directory = step(storage.fsync_directory)  # type: ignore[attr-defined]
        os.link = step(os.link)  # storage's os
        await store.commit(uploads)

    asyncio.run(commit())


def run_child(root: Path, crash_at: int, *, fsync: bool) -> tuple[int | None, int]:
    context = multiprocessing.get_context("spawn")
    steps_seen = context.Value("i", 0)
    child = context.Process(
        target=_commit_and_die_at, args=(str(root), crash_at, fsync, steps_seen)
    )
    child.start()
    child.join(60)
    return child.exitcode, int(steps_seen.value)


async def stored_state(root: Path) -> tuple[list[str], int]:
    """After a restart: the original names listed, with every invariant checked."""
    store = UploadStore(root, fsync=False)
    await store.prepare()
    page = await store.list_page(1, 100)
    meta = root / ".meta"
    assert not list(meta.glob(".commit-*")), "journals are resolved at start"
    assert not list((root / ".tmp").glob("*.part"))
    published = sorted(p.name for p in root.iterdir() if p.is_file())
    described = sorted(p.name.removesuffix(".json") for p in meta.glob("*.json"))
    assert published == described == sorted(f.name for f in page.files)
    for stored in page.files:
        content = (root / stored.name).read_bytes()
        assert hashlib.sha256(content).hexdigest() == stored.sha256
        assert json.loads((meta / f"{stored.name}.json").read_text())["size"] == len(content)
    assert await store.used_bytes() == sum(f.size for f in page.files)
    await store.close()
    return sorted(f.original_name for f in page.files), page.total


@pytest.mark.parametrize("fsync", [True, False])
@pytest.mark.slow
async def test_a_commit_killed_at_any_step_is_kept_whole_or_not_at_all(
    tmp_path: Path, fsync: bool
) -> None:
    _, total_steps = await asyncio.to_thread(run_child, tmp_path / "count", 10**6, fsync=fsync)
    assert total_steps >= 8
    for crash_at in range(total_steps + 1):
        root = tmp_path / f"crash-{crash_at}"
        survivor = UploadStore(root, fsync=False)
        await survivor.prepare()
        earlier = await survivor.begin("earlier.txt", "text/plain")
        await earlier.write([b"committed before the crash"])
        await earlier.finish()
        await survivor.commit([earlier])
        await survivor.close()

        exitcode, _ = await asyncio.to_thread(run_child, root, crash_at, fsync=fsync)
        names, _ = await stored_state(root)
        everything = sorted(["earlier.txt", *(name for name, _ in FILES)])
        if crash_at < total_steps:
            assert exitcode == 9
            assert names in (["earlier.txt"], everything), f"crash before step {crash_at}"
        else:
            assert exitcode == 0 and names == everything
