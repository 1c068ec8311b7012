from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quart_app.upload_engine import (
    InsufficientStorageError,
    LocalOpenedFile,
    UploadStore,
    is_stored_name,
)
from quart_app.upload_engine import temp_files as temp_files_module
from quart_app.upload_engine.stored_files import StoredFile, safe_stored_name
from quart_app.upload_engine.temp_files import TempUpload

from ..support.descriptors import descriptors_open_under
from ..support.faults import disk_full_error
from ..support.store_files import leftover_files


async def store_bytes(store: UploadStore, name: str, content: bytes) -> str:
    upload = await store.begin(name, "text/plain")
    await upload.write([content])
    await upload.finish()
    [stored] = await store.commit([upload])
    return stored.name


async def test_commit_publishes_file_and_metadata(store: UploadStore) -> None:
    upload = await store.begin("report.txt", "text/plain")
    await upload.write([b"hello "])
    await upload.write([memoryview(b"world")])
    await upload.finish()
    [stored] = await store.commit([upload])
    assert (store.root / stored.name).read_bytes() == b"hello world"
    assert stored.sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert stored.size == 11 and stored.original_name == "report.txt"
    meta = json.loads((store.root / ".meta" / f"{stored.name}.json").read_text())
    assert meta["sha256"] == stored.sha256 and meta["content_type"] == "text/plain"
    assert leftover_files(store) == sorted([stored.name, f".meta/{stored.name}.json"])
    assert await store.get(stored.name) == stored
    assert await store.used_bytes() == 11


async def test_same_original_name_never_overwrites(store: UploadStore) -> None:
    names = [await store_bytes(store, "same.txt", bytes([i])) for i in range(20)]
    assert len(set(names)) == 20
    for i, name in enumerate(names):
        assert (store.root / name).read_bytes() == bytes([i])


@pytest.mark.parametrize(
    ("original", "prefix", "suffix"),
    [
        ("../../etc/passwd", "etc_passwd-", ""),
        ("report.final.PDF", "report.final-", ".PDF"),
        (".htaccess", "htaccess-", ""),
        ("", "upload-", ""),
        ("..", "upload-", ""),
        ("ünïcode.txt", "unicode-", ".txt"),
    ],
)
def test_stored_names_are_safe_and_keep_the_extension(
    original: str, prefix: str, suffix: str
) -> None:
    name = safe_stored_name(original)
    assert name.startswith(prefix) and name.endswith(suffix)
    assert is_stored_name(name)


@given(st.text())
def test_every_generated_name_is_a_stored_name(original: str) -> None:
    assert is_stored_name(safe_stored_name(original))


LONG_NAMES = ["a" * 247 + ".txt", "a" * 296 + ".txt", "a" * 4996 + ".txt"]


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".meta",
        ".tmp",
        "../x",
        "a/b",
        ".hidden",
        "a b",
        "plain.txt",
        "a" * 81 + "-0123456789ab.txt",
        "a-0123456789ab." + "x" * 17,
        "a-0123456789AB.txt",
        *LONG_NAMES,
    ],
)
async def test_names_the_store_never_makes_are_not_served(store: UploadStore, name: str) -> None:
    assert not is_stored_name(name)
    assert await store.get(name) is None
    assert await store.open(name) is None
    assert await store.delete(name) is False


async def test_an_opened_file_outlives_its_deletion(store: UploadStore) -> None:
    content = b"kept whole " * 10_000
    name = await store_bytes(store, "kept.txt", content)
    opened = await store.open(name)
    assert opened is not None
    assert await store.delete(name) is True
    assert await store.open(name) is None
    assert (opened.stored.name, opened.size) == (name, len(content))
    assert b"".join([chunk async for chunk in opened.chunks(0, len(content) - 1)]) == content
    opened.close()
    opened.close()
    assert descriptors_open_under(store.root) == []


async def test_a_file_without_metadata_is_not_opened(store: UploadStore) -> None:
    name = await store_bytes(store, "a.txt", b"x")
    (store.root / ".meta" / f"{name}.json").unlink()
    assert await store.open(name) is None
    assert descriptors_open_under(store.root) == []


async def test_open_cancelled_while_opening_closes_the_file(
    store: UploadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = await store_bytes(store, "a.txt", b"x")
    started, release, returned = threading.Event(), threading.Event(), threading.Event()
    open_blocking = UploadStore._open_blocking

    def held_open(self: UploadStore, name: str) -> object:
        started.set()
        release.wait(10)
        try:
            return open_blocking(self, name)
        finally:
            returned.set()

    monkeypatch.setattr(UploadStore, "_open_blocking", held_open)
    opening = asyncio.ensure_future(store.open(name))
    assert await asyncio.to_thread(started.wait, 10)
    opening.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await opening
    # The caller is cancelled before the thread opens the file: wait for it to have opened.
    assert await asyncio.to_thread(returned.wait, 10)
    for _ in range(500):
        if not descriptors_open_under(store.root):
            break
        await asyncio.sleep(0.01)
    assert descriptors_open_under(store.root) == []


async def test_an_opened_file_never_closed_is_closed_with_a_warning(store: UploadStore) -> None:
    name = await store_bytes(store, "a.txt", b"x")
    stored = await store.get(name)
    assert stored is not None
    opened = LocalOpenedFile(stored, os.open(store.root / name, os.O_RDONLY), 1)
    assert descriptors_open_under(store.root) != []
    with pytest.warns(ResourceWarning):
        del opened
    assert descriptors_open_under(store.root) == []


async def test_quota_refuses_and_keeps_nothing(tmp_path: Path) -> None:
    store = UploadStore(tmp_path / "uploads", quota=10, fsync=True)
    await store.prepare()
    name = await store_bytes(store, "a.txt", b"12345678")
    upload = await store.begin("b.txt", "text/plain")
    await upload.write([b"123"])
    await upload.finish()
    with pytest.raises(InsufficientStorageError):
        await store.commit([upload])
    assert leftover_files(store) == sorted([name, f".meta/{name}.json"])
    assert (store.fits(2), store.fits(3)) == (True, False)
    with pytest.raises(InsufficientStorageError):
        await store.ensure_room(3)
    await store.close()


async def test_quota_is_shared_between_stores_on_one_folder(tmp_path: Path) -> None:
    first = UploadStore(tmp_path / "uploads", quota=10, fsync=False)
    second = UploadStore(tmp_path / "uploads", quota=10, fsync=False)
    await first.prepare()
    await second.prepare()
    await store_bytes(first, "a.txt", b"1234567")
    upload = await second.begin("b.txt", "text/plain")
    await upload.write([b"1234"])
    await upload.finish()
    with pytest.raises(InsufficientStorageError):
        await second.commit([upload])
    await first.close()
    await second.close()


async def test_quota_decisions_read_the_ledger_other_stores_wrote(tmp_path: Path) -> None:
    first = UploadStore(tmp_path / "uploads", quota=10, fsync=False)
    second = UploadStore(tmp_path / "uploads", quota=10, fsync=False)
    await first.prepare()
    await second.prepare()
    name = await store_bytes(first, "a.txt", b"123456789")
    with pytest.raises(InsufficientStorageError):
        await second.ensure_room(5)
    assert await first.delete(name)
    # `second` has committed nothing since: its decision still sees the deletion.
    await second.ensure_room(10)
    assert await store_bytes(second, "b.txt", b"1234567890")
    await first.close()
    await second.close()


@pytest.mark.parametrize(
    ("code", "raised"),
    [
        (errno.ENOSPC, InsufficientStorageError),
        (errno.EDQUOT, InsufficientStorageError),
        (errno.EIO, OSError),
    ],
)
async def test_a_full_disk_is_insufficient_storage_and_other_errors_stay_as_they_are(
    store: UploadStore, monkeypatch: pytest.MonkeyPatch, code: int, raised: type[Exception]
) -> None:
    def failing(*_: object) -> None:
        raise OSError(code, os.strerror(code))

    upload = await store.begin("a.txt", "text/plain")
    monkeypatch.setattr(temp_files_module, "hash_and_write", failing)
    with pytest.raises(raised) as caught:
        await upload.write([b"data"])
    assert isinstance(caught.value, InsufficientStorageError) == (
        raised is InsufficientStorageError
    )
    await upload.discard()
    assert leftover_files(store) == []


async def test_discard_removes_the_temp_file_and_is_idempotent(store: UploadStore) -> None:
    upload = await store.begin("a.txt", "text/plain")
    await upload.write([b"partial"])
    assert leftover_files(store) != []
    await upload.discard()
    await upload.discard()
    assert leftover_files(store) == []
    assert store.in_flight_bytes == 0


async def test_delete_removes_file_metadata_and_usage(store: UploadStore) -> None:
    name = await store_bytes(store, "a.txt", b"abc")
    assert await store.delete(name) is True
    assert await store.delete(name) is False
    assert await store.get(name) is None
    assert leftover_files(store) == []
    assert await store.used_bytes() == 0


async def test_listing_is_paginated_newest_first(store: UploadStore) -> None:
    names = [await store_bytes(store, f"{i}.txt", b"x") for i in range(5)]
    for offset, name in enumerate(names):
        os.utime(store.root / ".meta" / f"{name}.json", ns=(offset * 10**9, offset * 10**9))
    first = await store.list_page(1, 2)
    last = await store.list_page(3, 2)
    beyond = await store.list_page(9, 2)
    assert (first.total, first.pages) == (5, 3)
    assert [f.name for f in first.files] == [names[4], names[3]]
    assert [f.name for f in last.files] == [names[0]]
    assert beyond.files == []


async def test_prepare_recounts_usage(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    store = UploadStore(root, fsync=False)
    await store.prepare()
    await store_bytes(store, "a.txt", b"12345")
    (root / ".meta" / ".usage").write_text("999")
    await UploadStore(root).prepare()
    assert await store.used_bytes() == 5


async def test_readers_wait_for_a_commit_in_progress(store: UploadStore) -> None:
    """Listing and opening take the store's lock shared, so half a commit is never seen."""
    committing, done = threading.Event(), threading.Event()

    def hold_the_commit_lock() -> None:
        with store._locked():
            committing.set()
            done.wait(10)

    holder = asyncio.ensure_future(asyncio.to_thread(hold_the_commit_lock))
    await asyncio.to_thread(committing.wait, 10)
    listing = asyncio.ensure_future(store.list_page(1, 10))
    opening = asyncio.ensure_future(store.open("a-000000000000.txt"))
    await asyncio.sleep(0.3)
    assert not listing.done() and not opening.done()
    done.set()
    await holder
    assert (await listing).total == 0 and await opening is None


async def finished(store: UploadStore, name: str, content: bytes) -> TempUpload:
    upload = await store.begin(name, "text/plain")
    await upload.write([content])
    await upload.finish()
    return upload


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the store never got there")


async def commits_held_back(
    store: UploadStore, groups: list[list[TempUpload]]
) -> list[list[StoredFile] | BaseException]:
    """Commit the first group while another process holds the store's lock, so that the
    others arrive while it waits; then let them all go."""
    committing, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with store._locked():
            committing.set()
            release.wait(10)

    holder = asyncio.ensure_future(asyncio.to_thread(hold_the_lock))
    await asyncio.to_thread(committing.wait, 10)
    commits = [asyncio.ensure_future(store.commit(groups[0]))]
    # The first has begun (taken from the queue, it waits for the lock in a thread) ...
    await until(
        lambda: (
            store._committer is not None
            and not store._committer.done()
            and not store._waiting_commits
        )
    )
    commits += [asyncio.ensure_future(store.commit(group)) for group in groups[1:]]
    # ... and the others queue behind it.
    await until(lambda: len(store._waiting_commits) == len(groups) - 1)
    release.set()
    await holder
    return await asyncio.gather(*commits, return_exceptions=True)


async def test_commits_that_wait_together_are_published_in_one_journal(
    store: UploadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    journals: list[int] = []
    publish_all = UploadStore._publish_all

    def recording(self: UploadStore, uploads: Any, usage_after: int) -> list[StoredFile]:
        journals.append(len(uploads))
        return publish_all(self, uploads, usage_after)

    monkeypatch.setattr(UploadStore, "_publish_all", recording)
    groups = [[await finished(store, f"{i}.txt", bytes([i]) * 3)] for i in range(6)]
    outcomes = await commits_held_back(store, groups)
    assert journals == [1, 5], "the first alone, the five that waited for it together"
    for index, outcome in enumerate(outcomes):
        assert isinstance(outcome, list)
        assert (store.root / outcome[0].name).read_bytes() == bytes([index]) * 3
    assert await store.used_bytes() == 18


async def test_each_commit_of_a_group_gets_its_own_quota_decision(tmp_path: Path) -> None:
    store = UploadStore(tmp_path / "uploads", quota=10, fsync=True)
    await store.prepare()
    groups = [[await finished(store, f"{i}.txt", b"1234")] for i in range(3)]
    first, second, third = await commits_held_back(store, groups)
    assert isinstance(first, list) and isinstance(second, list)
    assert isinstance(third, InsufficientStorageError)
    assert leftover_files(store) == sorted(
        [
            *(file.name for file in (*first, *second)),
            *(f".meta/{f.name}.json" for f in (*first, *second)),
        ]
    )
    assert await store.used_bytes() == 8
    await store.close()


async def test_a_failure_in_a_group_is_only_its_own_commits(
    store: UploadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = os.link

    def failing_for_bad(source: Any, destination: Any) -> None:
        # By the name's start: the random part of another name may spell "bad" in hex.
        if Path(destination).name.startswith("bad-"):
            raise disk_full_error()
        link(source, destination)

    monkeypatch.setattr(os, "link", failing_for_bad)
    groups = [
        [await finished(store, "first.txt", b"1")],
        [await finished(store, "good.txt", b"22"), await finished(store, "bad.txt", b"333")],
        [await finished(store, "last.txt", b"4444")],
    ]
    first, failed, last = await commits_held_back(store, groups)
    assert isinstance(failed, InsufficientStorageError)
    assert isinstance(first, list) and isinstance(last, list)
    kept = [file.name for file in (*first, *last)]
    assert leftover_files(store) == sorted([*kept, *(f".meta/{name}.json" for name in kept)])
    assert await store.used_bytes() == 5
