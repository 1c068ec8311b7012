"""Temp files: owned by a live store, removed whatever goes wrong, never trusted to a PID."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import pytest

from quart_app.upload_engine import (
    InsufficientStorageError,
    UploadStore,
    durable_files,
    storage,
    temp_files,
)

from ..support.faults import disk_full_error, no_space
from ..support.store_files import leftover_files


def temp_names(root: Path) -> list[str]:
    return sorted(path.name for path in (root / ".tmp").glob("*.part"))


def _receive_and_die(root: str, started: EventType) -> None:
    """A worker that dies mid-upload without running any cleanup (as SIGKILL would)."""

    async def begin_and_hold() -> None:
        store = UploadStore(Path(root), fsync=False)
        await store.prepare()
        upload = await store.begin("big.bin", "application/octet-stream")
        await upload.write([b"partial" * 1000])
        started.set()
        os._exit(9)

    asyncio.run(begin_and_hold())


async def test_temp_files_of_a_killed_store_are_removed_at_the_next_start(
    tmp_path: Path,
) -> None:
    root = tmp_path / "uploads"
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    child = context.Process(target=_receive_and_die, args=(str(root), started))
    child.start()
    await asyncio.to_thread(child.join, 60)
    assert started.is_set() and child.exitcode == 9
    assert len(temp_names(root)) == 1
    store = UploadStore(root, fsync=False)
    await store.prepare()
    assert temp_names(root) == []
    assert [p.name for p in (root / ".tmp").iterdir()] == [f"{store._temp.instance}.owner"]
    await store.close()


def is_zombie(pid: int) -> bool:
    """Dead and not reaped: its main thread a zombie and its other threads gone (until then
    they still hold the process's open files)."""
    state = Path(f"/proc/{pid}/stat").read_text().rpartition(") ")[2][:1]
    return state == "Z" and len(os.listdir(f"/proc/{pid}/task")) == 1


def _hold_until_told(root: str, ready: EventType, release: EventType) -> None:
    async def hold() -> None:
        store = UploadStore(Path(root), fsync=False)
        await store.prepare()
        upload = await store.begin("held.bin", "application/octet-stream")
        await upload.write([b"in flight"])
        ready.set()
        await asyncio.to_thread(release.wait, 60)
        os._exit(0)  # ends without closing the store: only the kernel releases the lock

    asyncio.run(hold())


async def test_a_zombie_process_holds_no_temp_files(tmp_path: Path) -> None:
    """Its PID still answers os.kill(pid, 0), but it no longer holds its lock."""
    root = tmp_path / "uploads"
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    child = context.Process(target=_hold_until_told, args=(str(root), ready, release))
    child.start()
    assert await asyncio.to_thread(ready.wait, 60)
    store = UploadStore(root, fsync=False)
    await store.prepare()
    assert len(temp_names(root)) == 1, "a live process's temp file is kept"
    await store.close()
    release.set()
    assert child.pid is not None
    for _ in range(3000):  # wait for the exit without reaping it: it stays a zombie
        if is_zombie(child.pid):
            break
        await asyncio.sleep(0.01)
    assert is_zombie(child.pid), "the child never became a zombie"
    os.kill(child.pid, 0)  # the PID check the old cleanup trusted still passes
    restarted = UploadStore(root, fsync=False)
    await restarted.prepare()
    assert temp_names(root) == []
    await restarted.close()
    child.join()


async def test_temp_files_named_after_a_live_pid_without_an_owner_lock_are_removed(
    tmp_path: Path,
) -> None:
    root = tmp_path / "uploads"
    (root / ".tmp").mkdir(parents=True)
    stray = root / ".tmp" / f"{os.getppid()}.abcd.0000.part"
    stray.write_bytes(b"left by an older version")
    store = UploadStore(root, fsync=False)
    await store.prepare()
    assert not stray.exists()
    await store.close()


async def test_two_live_stores_keep_each_others_temp_files(tmp_path: Path) -> None:
    first = UploadStore(tmp_path / "uploads", fsync=False)
    await first.prepare()
    upload = await first.begin("a.bin", "application/octet-stream")
    await upload.write([b"data"])
    second = UploadStore(tmp_path / "uploads", fsync=False)
    await second.prepare()
    assert temp_names(first.root) == [upload.path.name]
    await first.close()
    assert temp_names(first.root) == [], "a store removes its own temp files when it closes"
    await second.close()


async def test_discard_deletes_the_file_even_when_closing_it_fails(
    store: UploadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = await store.begin("a.bin", "application/octet-stream")
    await upload.write([b"data"])
    real_close = os.close

    def failing_close(descriptor: int) -> None:
        real_close(descriptor)
        raise disk_full_error()

    monkeypatch.setattr(os, "close", failing_close)
    await upload.discard()
    assert leftover_files(store) == []
    assert store.in_flight_bytes == 0


async def test_a_full_disk_at_finish_is_507_and_discard_still_removes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = UploadStore(tmp_path / "uploads", fsync=True)
    await store.prepare()
    upload = await store.begin("a.bin", "application/octet-stream")
    await upload.write([b"data"])

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(InsufficientStorageError):
        await upload.finish()
    await upload.discard()
    assert leftover_files(store) == []
    await store.close()


async def test_a_full_disk_while_writing_metadata_leaves_no_partial_file(
    store: UploadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = await store.begin("a.bin", "application/octet-stream")
    await upload.write([b"data"])
    await upload.finish()

    monkeypatch.setattr(durable_files, "write_all", no_space)
    with pytest.raises(InsufficientStorageError):
        await store.commit([upload])
    assert leftover_files(store) == []
    assert store.in_flight_bytes == 0


async def test_cancelling_begin_while_the_file_is_created_leaves_nothing(
    store: UploadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    creating = threading.Event()
    real_create = durable_files.create_exclusive

    def slow_create(path: Path) -> int:
        creating.set()
        time.sleep(0.2)
        return real_create(path)

    monkeypatch.setattr(temp_files, "create_exclusive", slow_create)
    task = asyncio.ensure_future(store.begin("a.bin", "application/octet-stream"))
    await asyncio.to_thread(creating.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):
        if not temp_names(store.root):
            break
        await asyncio.sleep(0.01)
    assert temp_names(store.root) == []


async def test_cancelling_a_write_lets_it_finish_before_the_descriptor_closes(
    store: UploadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing = threading.Event()
    finished: list[bool] = []
    real_write = temp_files.hash_and_write

    def slow_write(*args: object) -> None:
        writing.set()
        time.sleep(0.2)
        real_write(*args)  # type: ignore[arg-type]
        finished.append(True)

    upload = await store.begin("a.bin", "application/octet-stream")
    monkeypatch.setattr(temp_files, "hash_and_write", slow_write)
    task = asyncio.ensure_future(upload.write([b"x" * 100_000]))
    await asyncio.to_thread(writing.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await upload.discard()
    assert finished == [True], "the write ran to its end on a descriptor still open"
    assert leftover_files(store) == []


async def test_a_full_disk_while_recording_usage_undoes_the_commit_and_leaves_no_temp_file(
    store: UploadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = await store.begin("a.bin", "application/octet-stream")
    await upload.write([b"data"])
    await upload.finish()
    monkeypatch.setattr(storage, "write_in_place", no_space)
    with pytest.raises(InsufficientStorageError):
        await store.commit([upload])
    assert leftover_files(store) == []
    assert (await store.list_page(1, 10)).total == 0


@pytest.mark.parametrize("failing", ["write_all", "fsync"])
def test_a_new_file_that_cannot_be_written_whole_is_not_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "name.json"
    owner = durable_files if failing == "write_all" else os
    monkeypatch.setattr(owner, failing, no_space)
    with pytest.raises(OSError):
        durable_files.write_new(target, b"{}", fsync=True)
    assert list(tmp_path.iterdir()) == []


def test_a_new_file_never_replaces_one_that_exists(tmp_path: Path) -> None:
    target = tmp_path / "name.json"
    target.write_text("first")
    with pytest.raises(FileExistsError):
        durable_files.write_new(target, b"second", fsync=False)
    assert target.read_text() == "first"


def test_a_record_rewritten_in_place_holds_only_the_new_data(tmp_path: Path) -> None:
    target = tmp_path / ".usage"
    durable_files.write_in_place(target, b"123456")
    inode = target.stat().st_ino
    durable_files.write_in_place(target, b"42")
    assert target.read_bytes() == b"42"
    assert target.stat().st_ino == inode, "the same file, no new one"
