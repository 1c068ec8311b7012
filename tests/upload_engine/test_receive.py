from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

import pytest

from quart_app.upload_engine import (
    DigestMismatchError,
    InsufficientStorageError,
    MalformedUploadError,
    StoredFile,
    UnsupportedUploadTypeError,
    UploadLimits,
    UploadStore,
    UploadTimeoutError,
    UploadTooLargeError,
    receive_uploads,
)

from ..support.multipart_bodies import CONTENT_TYPE, Part, encode, split_at
from ..support.store_files import leftover_files

LIMITS = UploadLimits(idle_timeout=None)


async def chunks_of(body: bytes, size: int = 7, per_batch: int = 3) -> AsyncIterator[list[bytes]]:
    """`body` in chunks of `size` bytes, delivered `per_batch` chunks at a time."""
    chunks = [body[start : start + size] for start in range(0, len(body), size)]
    for start in range(0, len(chunks), per_batch):
        yield chunks[start : start + per_batch]


async def receive(
    store: UploadStore,
    parts: list[Part],
    *,
    limits: UploadLimits = LIMITS,
    with_length: bool = True,
    **options: Any,
) -> list[StoredFile]:
    body = encode(parts)
    return await receive_uploads(
        chunks_of(body),
        content_type=CONTENT_TYPE,
        content_length=len(body) if with_length else None,
        limits=limits,
        store=store,
        **options,
    )


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_every_file_part_is_stored_with_its_digest(store: UploadStore) -> None:
    contents = [b"", b"\r\n--\r\n" * 100, bytes(range(256)) * 50]
    parts = [Part("wordlist-upload", c, f"{i}.bin") for i, c in enumerate(contents)]
    stored = await receive(store, [Part("note", b"hi"), *parts])
    assert [f.size for f in stored] == [len(c) for c in contents]
    assert [f.sha256 for f in stored] == [sha(c) for c in contents]
    for file, content in zip(stored, contents, strict=True):
        assert (store.root / file.name).read_bytes() == content
    assert len(leftover_files(store)) == 2 * len(contents)


async def test_several_parts_of_the_same_field_are_all_kept(store: UploadStore) -> None:
    parts = [Part("files", bytes([i]) * i, "same.txt") for i in range(1, 6)]
    stored = await receive(store, parts)
    assert len({f.name for f in stored}) == 5


async def test_body_without_files_stores_nothing(store: UploadStore) -> None:
    assert await receive(store, [Part("note", b"hi")]) == []
    assert leftover_files(store) == []


async def test_file_input_left_empty_is_skipped(store: UploadStore) -> None:
    stored = await receive(store, [Part("a", b"", ""), Part("b", b"data", "b.txt")])
    assert [f.original_name for f in stored] == ["b.txt"]


async def test_fields_before_the_first_file_are_checked_before_any_file_byte(
    store: UploadStore,
) -> None:
    seen: list[tuple[dict[str, list[str]], list[str]]] = []

    def refuse(fields: Mapping[str, list[str]]) -> None:
        seen.append((dict(fields), leftover_files(store)))
        raise PermissionError("bad token")

    parts = [Part("csrf_token", b"t0ken"), Part("f", b"data", "a.txt"), Part("late", b"x")]
    with pytest.raises(PermissionError):
        await receive(store, parts, check_fields=refuse)
    assert seen == [({"csrf_token": ["t0ken"]}, [])]
    assert leftover_files(store) == []


async def test_fields_after_the_first_file_are_not_seen_by_the_check(store: UploadStore) -> None:
    seen: list[dict[str, list[str]]] = []
    parts = [Part("f", b"data", "a.txt"), Part("csrf_token", b"t0ken")]
    await receive(store, parts, check_fields=lambda fields: seen.append(dict(fields)))
    assert seen == [{}]


async def test_fields_of_a_body_without_files_are_all_checked(store: UploadStore) -> None:
    seen: list[dict[str, list[str]]] = []
    parts = [Part("a", b"1"), Part("b", b"2")]
    assert await receive(store, parts, check_fields=lambda fields: seen.append(dict(fields))) == []
    assert seen == [{"a": ["1"], "b": ["2"]}]


async def test_digest_field_checks_the_next_file(store: UploadStore) -> None:
    good = [Part("sha256", sha(b"one").encode()), Part("f", b"one", "1.txt")]
    assert len(await receive(store, good)) == 1
    bad = [
        Part("f", b"zero", "0.txt"),
        Part("sha256", sha(b"one").encode()),
        Part("f", b"not one", "1.txt"),
    ]
    with pytest.raises(DigestMismatchError):
        await receive(store, bad)
    assert (await store.list_page(1, 10)).total == 1


async def test_header_digest_applies_to_a_single_file(store: UploadStore) -> None:
    parts = [Part("f", b"data", "a.txt")]
    [stored] = await receive(store, parts, expected_sha256=sha(b"data").upper())
    assert stored.sha256 == sha(b"data")
    with pytest.raises(DigestMismatchError):
        await receive(store, parts, expected_sha256=sha(b"other"))
    with pytest.raises(MalformedUploadError):
        await receive(store, parts * 2, expected_sha256=sha(b"data"))
    with pytest.raises(MalformedUploadError):
        await receive(store, parts, expected_sha256="not-hex")
    assert (await store.list_page(1, 10)).total == 1
    assert len(leftover_files(store)) == 2


@pytest.mark.parametrize(
    ("limits", "parts"),
    [
        (replace(LIMITS, max_file_size=3), [Part("f", b"1234", "a.txt")]),
        (replace(LIMITS, max_files=2), [Part("f", b"x", f"{i}.txt") for i in range(3)]),
        (replace(LIMITS, max_fields=1), [Part("a", b"1"), Part("b", b"2")]),
        (replace(LIMITS, max_field_size=3), [Part("a", b"1234")]),
        (replace(LIMITS, max_request_size=100), [Part("f", b"x" * 200, "a.txt")]),
    ],
)
async def test_limits_refuse_with_413_and_keep_nothing(
    store: UploadStore, limits: UploadLimits, parts: list[Part]
) -> None:
    ok = Part("first", b"kept until the limit is hit", "first.txt")
    for with_length in (True, False):
        with pytest.raises(UploadTooLargeError) as raised:
            await receive(store, [ok, *parts], limits=limits, with_length=with_length)
        assert raised.value.status == 413
    assert leftover_files(store) == []


async def test_declared_length_over_the_limit_is_refused_before_reading(
    store: UploadStore,
) -> None:
    async def never_read() -> AsyncIterator[list[bytes]]:
        raise AssertionError("the body was read")
        yield [b""]

    with pytest.raises(UploadTooLargeError):
        await receive_uploads(
            never_read(),
            content_type=CONTENT_TYPE,
            content_length=101,
            limits=replace(LIMITS, max_request_size=100),
            store=store,
        )


@pytest.mark.parametrize(
    ("limits", "part"),
    [
        (replace(LIMITS, allowed_extensions=frozenset({"txt"})), Part("f", b"x", "a.exe")),
        (replace(LIMITS, allowed_extensions=frozenset({"txt"})), Part("f", b"x", "noext")),
        (
            replace(LIMITS, allowed_content_types=frozenset({"text/plain"})),
            Part("f", b"x", "a.txt", "application/x-msdownload"),
        ),
    ],
)
async def test_disallowed_types_are_415(
    store: UploadStore, limits: UploadLimits, part: Part
) -> None:
    with pytest.raises(UnsupportedUploadTypeError):
        await receive(store, [part], limits=limits)
    assert leftover_files(store) == []


async def test_allowed_types_pass(store: UploadStore) -> None:
    limits = replace(
        LIMITS,
        allowed_extensions=frozenset({"txt"}),
        allowed_content_types=frozenset({"text/plain"}),
    )
    assert await receive(
        store, [Part("f", b"x", "A.TXT", "text/plain; charset=utf-8")], limits=limits
    )


async def test_quota_is_checked_early_and_at_commit(tmp_path: Any) -> None:
    store = UploadStore(tmp_path / "uploads", quota=10, fsync=False)
    await store.prepare()
    with pytest.raises(InsufficientStorageError):
        await receive(store, [Part("f", b"x" * 11, "a.txt")])
    with pytest.raises(InsufficientStorageError):
        await receive(store, [Part("f", b"x" * 11, "a.txt")], with_length=False)
    assert leftover_files(store) == []
    assert len(await receive(store, [Part("f", b"x" * 10, "a.txt")], with_length=False)) == 1


async def test_body_shorter_than_declared_is_malformed(store: UploadStore) -> None:
    body = encode([Part("f", b"data", "a.txt")])
    with pytest.raises(MalformedUploadError):
        await receive_uploads(
            chunks_of(body),
            content_type=CONTENT_TYPE,
            content_length=len(body) + 5,
            limits=LIMITS,
            store=store,
        )
    assert leftover_files(store) == []


async def test_truncated_body_keeps_nothing(store: UploadStore) -> None:
    body = encode([Part("f", b"data" * 100, "a.txt")])
    with pytest.raises(MalformedUploadError):
        await receive_uploads(
            chunks_of(body[:-50]),
            content_type=CONTENT_TYPE,
            content_length=None,
            limits=LIMITS,
            store=store,
        )
    assert leftover_files(store) == []


async def test_idle_client_times_out_and_keeps_nothing(store: UploadStore) -> None:
    body = encode([Part("f", b"data" * 100, "a.txt")])
    stalled = asyncio.Event()

    async def stalls_halfway() -> AsyncIterator[list[bytes]]:
        yield [body[:200]]
        await stalled.wait()

    with pytest.raises(UploadTimeoutError):
        await receive_uploads(
            stalls_halfway(),
            content_type=CONTENT_TYPE,
            content_length=len(body),
            limits=replace(LIMITS, idle_timeout=0.05),
            store=store,
        )
    assert leftover_files(store) == []


async def test_cancellation_mid_upload_keeps_nothing(store: UploadStore) -> None:
    body = encode([Part("f", b"a" * 1000, "a.txt"), Part("g", b"b" * 1000, "b.txt")])
    halfway = asyncio.Event()
    forever = asyncio.Event()

    async def hangs_in_second_file() -> AsyncIterator[list[bytes]]:
        for chunk in split_at(body, [1500]):
            yield [chunk]
        halfway.set()
        await forever.wait()

    task = asyncio.ensure_future(
        receive_uploads(
            hangs_in_second_file(),
            content_type=CONTENT_TYPE,
            content_length=len(body) + 1,
            limits=LIMITS,
            store=store,
        )
    )
    await halfway.wait()
    assert leftover_files(store) != []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftover_files(store) == []
    assert store.in_flight_bytes == 0
