"""The S3 upload store against a real SeaweedFS: multipart uploads published all or none,
metadata, downloads, listing, quota, crash recovery, memory bounds and a dead endpoint."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import multiprocessing
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from quart_app.upload_engine import (
    DigestMismatchError,
    FileStore,
    InsufficientStorageError,
    OpenedFile,
    ResumableStore,
    S3IncomingFile,
    S3Settings,
    S3UploadStore,
    StorageFailedError,
    StorageTimeoutError,
    StorageUnavailableError,
    TempUpload,
    UploadLimits,
    receive_uploads,
)

from ..support.multipart_bodies import CONTENT_TYPE, Part, encode
from ..support.seaweedfs import SeaweedFS, running_seaweedfs, stop

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = [pytest.mark.server, pytest.mark.slow]

MIB = 1024 * 1024
PART = 5 * MIB


def _settings(seaweedfs: SeaweedFS, prefix: str, **overrides: object) -> S3Settings:
    return S3Settings(
        bucket=seaweedfs.bucket,
        endpoint_url=seaweedfs.endpoint_url,
        prefix=prefix,
        region=seaweedfs.region,
        access_key=seaweedfs.access_key,
        secret_key=seaweedfs.secret_key,
        part_size=PART,
        buffer_total=3 * PART,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def prefix() -> str:
    """A prefix of its own per test: the tests share one bucket."""
    return f"tests/{uuid.uuid4().hex}/"


@pytest.fixture
async def s3_store(
    seaweedfs: SeaweedFS, prefix: str, tmp_path: Path
) -> AsyncIterator[S3UploadStore]:
    """A prepared S3 store on the shared SeaweedFS, its state in a temporary folder."""
    store = S3UploadStore(tmp_path / "state", _settings(seaweedfs, prefix), fsync=False)
    async with _prepared(store):
        yield store


@asynccontextmanager
async def _prepared(store: S3UploadStore) -> AsyncIterator[S3UploadStore]:
    await store.prepare()
    try:
        yield store
    finally:
        await store.close()


def _content(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    return (block * (size // len(block) + 1))[:size]


async def _receive(
    store: FileStore[S3IncomingFile],
    name: str,
    content: bytes,
    *,
    chunk: int = 256 * 1024,
    expected_sha256: str | None = None,
) -> S3IncomingFile:
    upload = await store.begin(name, "application/octet-stream", expected_sha256=expected_sha256)
    view = memoryview(content)
    for start in range(0, len(content), chunk):
        await upload.write([view[start : start + chunk]])
    await upload.finish()
    return upload


async def _read(opened: OpenedFile, first: int, last: int) -> bytes:
    return b"".join([chunk async for chunk in opened.chunks(first, last)])


def _in_progress(client: S3Client, bucket: str, prefix: str) -> list[tuple[str, str]]:
    listed = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return [(u.get("Key", ""), u.get("UploadId", "")) for u in listed.get("Uploads", [])]


def _keys(client: S3Client, bucket: str, prefix: str) -> list[str]:
    listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item.get("Key", "") for item in listed.get("Contents", []))


async def test_a_file_round_trips_with_its_metadata(
    s3_store: S3UploadStore, seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str
) -> None:
    content = _content(300_000)
    [stored] = await s3_store.commit([await _receive(s3_store, "résumé 1.pdf", content)])
    assert (stored.size, stored.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert stored.original_name == "résumé 1.pdf"
    assert await s3_store.get(stored.name) == stored
    head = seaweedfs_s3.head_object(
        Bucket=seaweedfs.bucket, Key=prefix + stored.name, ChecksumMode="ENABLED"
    )
    assert head["Metadata"] == {"original-name": "r%C3%A9sum%C3%A9%201.pdf"}
    part_digest = base64.b64encode(hashlib.sha256(content).digest())
    composite = base64.b64encode(hashlib.sha256(base64.b64decode(part_digest)).digest())
    assert head.get("ChecksumSHA256") == f"{composite.decode()}-1"
    opened = await s3_store.open(stored.name)
    assert opened is not None
    try:
        assert opened.size == len(content)
        assert await _read(opened, 0, len(content) - 1) == content
        assert await _read(opened, 1000, 299_999) == content[1000:]
        assert await _read(opened, 7, 7) == content[7:8]
        assert await opened.direct_url(content_disposition="attachment") is None
    finally:
        opened.close()
    assert await s3_store.used_bytes() == len(content)
    assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []


@pytest.mark.parametrize("chunk", [256 * 1024, 13 * MIB], ids=["small-writes", "one-write"])
async def test_a_multipart_file_is_stored_intact(
    s3_store: S3UploadStore, seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str, chunk: int
) -> None:
    content = _content(13 * MIB, seed=1)
    [stored] = await s3_store.commit([await _receive(s3_store, "big.bin", content, chunk=chunk)])
    head = seaweedfs_s3.head_object(Bucket=seaweedfs.bucket, Key=prefix + stored.name)
    assert head["ETag"].endswith('-3"')
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    opened = await s3_store.open(stored.name)
    assert opened is not None
    try:
        assert await _read(opened, 0, len(content) - 1) == content
        assert await _read(opened, PART - 10, PART + 10) == content[PART - 10 : PART + 11]
    finally:
        opened.close()


async def test_an_empty_file_is_stored(s3_store: S3UploadStore) -> None:
    [stored] = await s3_store.commit([await _receive(s3_store, "empty.txt", b"")])
    assert (stored.size, stored.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert await s3_store.get(stored.name) == stored


async def test_a_commit_that_fails_on_its_second_file_publishes_nothing(
    s3_store: S3UploadStore, seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str
) -> None:
    first = await _receive(s3_store, "one.bin", _content(1000))
    second = await _receive(s3_store, "two.bin", _content(PART + 10, seed=2))
    seaweedfs_s3.abort_multipart_upload(
        Bucket=seaweedfs.bucket, Key=second.key, UploadId=second.upload_id
    )
    with pytest.raises(StorageFailedError) as refused:
        await s3_store.commit([first, second])
    assert refused.value.status == 502
    assert _keys(seaweedfs_s3, seaweedfs.bucket, prefix) == []
    assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []
    assert (await s3_store.list_page(1, 10)).total == 0
    assert await s3_store.used_bytes() == 0
    assert s3_store.in_flight_bytes == 0
    assert list((s3_store.root / ".meta").glob(".commit-*")) == []
    assert list((s3_store.root / ".s3-uploads").glob("*.part")) == []


async def test_discard_aborts_the_multipart_upload(
    s3_store: S3UploadStore, seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str
) -> None:
    upload = await s3_store.begin("gone.bin", "application/octet-stream")
    await upload.write([_content(PART + 100)])
    assert len(_in_progress(seaweedfs_s3, seaweedfs.bucket, prefix)) == 1
    await upload.discard()
    await upload.discard()
    assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []
    assert s3_store.budget.held_bytes == 0
    assert s3_store.in_flight_bytes == 0
    assert list((s3_store.root / ".s3-uploads").glob("*.part")) == []


async def test_a_digest_mismatch_is_422_and_discarding_aborts(
    s3_store: S3UploadStore, seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str
) -> None:
    upload = await s3_store.begin("x.bin", "text/plain", expected_sha256="0" * 64)
    await upload.write([b"some bytes"])
    with pytest.raises(DigestMismatchError) as mismatch:
        await upload.finish()
    assert mismatch.value.status == 422
    await upload.discard()
    assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []


async def test_the_receiver_stores_a_multipart_body_on_s3(
    s3_store: S3UploadStore, seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str
) -> None:
    first, second = _content(PART + 3, seed=4), b"second file"
    body = encode(
        [
            Part("note", b"two files"),
            Part("file", first, "one.bin", "application/octet-stream"),
            Part("file", second, "two.txt", "text/plain"),
        ]
    )
    stored = await receive_uploads(
        _batches(body),
        content_type=CONTENT_TYPE,
        content_length=len(body),
        limits=UploadLimits(idle_timeout=None),
        store=s3_store,
    )
    assert [(f.original_name, f.size, f.sha256) for f in stored] == [
        ("one.bin", len(first), hashlib.sha256(first).hexdigest()),
        ("two.txt", len(second), hashlib.sha256(second).hexdigest()),
    ]
    assert (await s3_store.list_page(1, 10)).total == 2
    assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []
    assert s3_store.in_flight_bytes == 0


async def test_a_digest_mismatch_through_the_receiver_leaves_nothing(
    s3_store: S3UploadStore, seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str
) -> None:
    body = encode([Part("file", b"hello", "a.txt", "text/plain")])
    with pytest.raises(DigestMismatchError):
        await receive_uploads(
            _batches(body),
            content_type=CONTENT_TYPE,
            content_length=len(body),
            limits=UploadLimits(idle_timeout=None),
            store=s3_store,
            expected_sha256="0" * 64,
        )
    assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []
    assert _keys(seaweedfs_s3, seaweedfs.bucket, prefix) == []


async def _batches(body: bytes) -> AsyncIterator[list[bytes]]:
    for start in range(0, len(body), 65536):
        yield [body[start : start + 65536]]


async def test_the_quota_refuses_a_commit_with_507(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str, tmp_path: Path
) -> None:
    async with _prepared(
        S3UploadStore(tmp_path / "state", _settings(seaweedfs, prefix), quota=1500)
    ) as store:
        await store.commit([await _receive(store, "a.bin", _content(1000))])
        with pytest.raises(InsufficientStorageError) as full:
            await store.commit([await _receive(store, "b.bin", _content(1000))])
        assert full.value.status == 507
        assert (await store.list_page(1, 10)).total == 1
        assert await store.used_bytes() == 1000
        assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []


async def test_listing_is_newest_first_in_pages(s3_store: S3UploadStore) -> None:
    names = []
    for index in range(3):
        if index:
            # S3 records LastModified to the second.
            await asyncio.sleep(1.1)
        [stored] = await s3_store.commit([await _receive(s3_store, f"f{index}.txt", b"x")])
        names.append(stored.name)
    first = await s3_store.list_page(1, 2)
    second = await s3_store.list_page(2, 2)
    assert [file.name for file in first.files] == [names[2], names[1]]
    assert [file.name for file in second.files] == [names[0]]
    assert (first.total, first.pages, second.page) == (3, 2, 2)


async def test_delete_removes_the_object_and_its_bytes(
    s3_store: S3UploadStore, seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str
) -> None:
    [stored] = await s3_store.commit([await _receive(s3_store, "d.bin", _content(5000))])
    assert await s3_store.delete(stored.name)
    assert await s3_store.get(stored.name) is None
    assert await s3_store.open(stored.name) is None
    assert not await s3_store.delete(stored.name)
    assert not await s3_store.delete("../escape")
    assert await s3_store.used_bytes() == 0
    assert _keys(seaweedfs_s3, seaweedfs.bucket, prefix) == []


async def test_presigned_downloads_name_the_file_as_an_attachment(
    seaweedfs: SeaweedFS, prefix: str, tmp_path: Path
) -> None:
    settings = _settings(seaweedfs, prefix, presigned_downloads=True)
    async with _prepared(S3UploadStore(tmp_path / "state", settings)) as store:
        [stored] = await store.commit([await _receive(store, "naïve file.txt", b"hi there")])
        opened = await store.open(stored.name)
        assert opened is not None
        url = await opened.direct_url(
            content_disposition="attachment; filename*=UTF-8''na%C3%AFve%20file.txt"
        )
        opened.close()
        assert url is not None
        answer = httpx.get(url)
        assert answer.status_code == 200
        assert answer.content == b"hi there"
        assert answer.headers["content-disposition"] == (
            "attachment; filename*=UTF-8''na%C3%AFve%20file.txt"
        )
        assert answer.headers["content-type"] == "application/octet-stream"


async def test_a_replaced_object_is_not_mixed_into_an_open_read(
    s3_store: S3UploadStore, seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str
) -> None:
    [stored] = await s3_store.commit([await _receive(s3_store, "r.bin", b"version one")])
    opened = await s3_store.open(stored.name)
    assert opened is not None
    seaweedfs_s3.put_object(Bucket=seaweedfs.bucket, Key=prefix + stored.name, Body=b"other")
    try:
        with pytest.raises(StorageFailedError):
            await _read(opened, 0, 3)
    finally:
        opened.close()


async def test_a_resumable_upload_received_on_disk_is_published(
    s3_store: S3UploadStore, seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str
) -> None:
    content = _content(11 * MIB, seed=3)
    local = s3_store.root / "received.bin"
    local.write_bytes(content)
    received = TempUpload.received(
        local,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        reserved=0,
        original_name="resumed.bin",
        content_type="application/pdf",
        writing=s3_store.writing,
    )
    [stored] = await s3_store.commit([received])
    assert not local.exists()
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.content_type == "application/pdf"
    got = seaweedfs_s3.get_object(Bucket=seaweedfs.bucket, Key=prefix + stored.name)
    assert got["Body"].read() == content
    assert s3_store.in_flight_bytes == 0
    assert s3_store.budget.held_bytes == 0
    assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []


async def test_concurrent_uploads_never_hold_more_than_the_buffer_budget(
    s3_store: S3UploadStore,
) -> None:
    contents = [_content(16 * MIB, seed=10 + index) for index in range(16)]
    uploads = await asyncio.gather(
        *(_receive(s3_store, f"c{i}.bin", c, chunk=MIB) for i, c in enumerate(contents))
    )
    assert s3_store.budget.peak_bytes == s3_store.settings.buffer_total
    assert s3_store.budget.held_bytes == 0
    stored = await s3_store.commit(uploads)
    assert [file.sha256 for file in stored] == [
        hashlib.sha256(content).hexdigest() for content in contents
    ]


def _begin_and_die(state: str, settings: S3Settings) -> None:
    """In a child process: start an upload, send a part, and die without cleaning up."""

    async def begin() -> None:
        store = S3UploadStore(Path(state), settings, fsync=False)
        await store.prepare()
        upload = await store.begin("dead.bin", "application/octet-stream")
        await upload.write([_content(PART)])
        await upload.finish()
        os._exit(0)

    asyncio.run(begin())


async def test_a_start_aborts_the_uploads_of_dead_instances_only(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str, tmp_path: Path
) -> None:
    settings = _settings(seaweedfs, prefix)
    state = tmp_path / "state"
    live = S3UploadStore(state, settings, fsync=False)
    await live.prepare()
    try:
        kept = await live.begin("live.bin", "application/octet-stream")
        child = multiprocessing.get_context("spawn").Process(
            target=_begin_and_die, args=(str(state), settings)
        )
        child.start()
        await asyncio.to_thread(child.join, 60)
        assert child.exitcode == 0
        in_progress = dict(_in_progress(seaweedfs_s3, seaweedfs.bucket, prefix))
        assert len(in_progress) == 2
        assert in_progress[kept.key] == kept.upload_id
        starting = S3UploadStore(state, settings, fsync=False)
        await starting.prepare()
        await starting.close()
        assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == [(kept.key, kept.upload_id)]
        await kept.discard()
    finally:
        await live.close()
    assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []
    assert [path.name for path in (state / ".s3-uploads").iterdir()] == []


async def test_a_start_undoes_an_interrupted_commit(
    s3_store: S3UploadStore, seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str
) -> None:
    [stored] = await s3_store.commit([await _receive(s3_store, "half.bin", b"abc")])
    journal = s3_store.root / ".meta" / ".commit-0123456789abcdef.json"
    journal.write_text(f'["{stored.name}"]')
    again = S3UploadStore(s3_store.root, s3_store.settings, fsync=False)
    await again.prepare()
    await again.close()
    assert _keys(seaweedfs_s3, seaweedfs.bucket, prefix) == []
    assert not journal.exists()
    assert await s3_store.used_bytes() == 0


async def test_a_stopped_endpoint_gives_a_prompt_5xx_and_publishes_nothing(
    tmp_path: Path,
) -> None:
    with running_seaweedfs() as private:
        store = S3UploadStore(tmp_path / "state", _settings(private, "p/"), fsync=False)
        await store.prepare()
        try:
            assert await store.check_reachable()
            upload = await store.begin("cut.bin", "application/octet-stream")
            await upload.write([_content(PART)])
            await asyncio.to_thread(stop, private.process)
            started = time.monotonic()
            with pytest.raises((StorageUnavailableError, StorageTimeoutError)) as failed:
                await upload.write([_content(PART)])
                await upload.finish()
            assert failed.value.status in {503, 504}
            await upload.discard()
            assert time.monotonic() - started < 20
            assert not await store.check_reachable()
            with pytest.raises(StorageUnavailableError):
                await store.begin("later.bin", "application/octet-stream")
            assert store.budget.held_bytes == 0
            # The abort failed: the mark stays, for a retry or the next start.
            assert len(list((store.root / ".s3-uploads").glob("*.part"))) == 1
        finally:
            await store.close()
        assert len(list((store.root / ".s3-uploads").glob("*.part"))) == 1


async def test_close_aborts_the_uploads_this_instance_left_unfinished(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str, tmp_path: Path
) -> None:
    async with _prepared(
        S3UploadStore(tmp_path / "state", _settings(seaweedfs, prefix), fsync=False)
    ) as store:
        upload = await store.begin("left.bin", "application/octet-stream")
        await upload.write([_content(PART + 1)])
        await upload.finish()
        assert len(_in_progress(seaweedfs_s3, seaweedfs.bucket, prefix)) == 1
    assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []
    assert list((tmp_path / "state" / ".s3-uploads").iterdir()) == []


async def test_the_settings_refuse_parts_below_the_s3_minimum() -> None:
    with pytest.raises(ValueError, match="part_size"):
        S3Settings(bucket="b", part_size=MIB)
    with pytest.raises(ValueError, match="buffer_total"):
        S3Settings(bucket="b", part_size=8 * MIB, buffer_total=4 * MIB)


async def test_concurrent_commits_are_each_all_or_none_within_the_quota(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str, tmp_path: Path
) -> None:
    async with _prepared(
        S3UploadStore(tmp_path / "state", _settings(seaweedfs, prefix), quota=5000)
    ) as store:
        requests = [
            [await _receive(store, f"r{i}-{j}.bin", _content(1000, seed=i)) for j in range(2)]
            for i in range(4)
        ]
        outcomes = await asyncio.gather(
            *(store.commit(uploads) for uploads in requests), return_exceptions=True
        )
        published = [o for o in outcomes if isinstance(o, list)]
        refused = [o for o in outcomes if isinstance(o, InsufficientStorageError)]
        assert (len(published), len(refused)) == (2, 2)
        assert (await store.list_page(1, 10)).total == 4
        assert await store.used_bytes() == 4000
        assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []
        assert store.in_flight_bytes == 0


async def test_a_resumable_upload_is_published_to_s3_and_its_reservation_released(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, prefix: str, tmp_path: Path
) -> None:
    store = S3UploadStore(tmp_path / "state", _settings(seaweedfs, prefix), quota=20 * MIB)
    resumable = ResumableStore(
        store, limits=UploadLimits(idle_timeout=None), max_size=None, expiry=None
    )
    await store.prepare()
    try:
        content = _content(6 * MIB, seed=5)
        created = await resumable.create(
            length=len(content),
            original_name="tus.bin",
            content_type="application/octet-stream",
            metadata="",
        )
        assert await store.used_bytes() == len(content)
        half = 3 * MIB
        await resumable.append(created.id, _batches(content[:half]), offset=0)
        _, stored = await resumable.append(created.id, _batches(content[half:]), offset=half)
        assert stored is not None
        assert stored.sha256 == hashlib.sha256(content).hexdigest()
        got = seaweedfs_s3.get_object(Bucket=seaweedfs.bucket, Key=prefix + stored.name)
        assert got["Body"].read() == content
        assert await store.used_bytes() == len(content)
        assert _in_progress(seaweedfs_s3, seaweedfs.bucket, prefix) == []
        again = S3UploadStore(store.root, store.settings, quota=20 * MIB)
        ResumableStore(again, limits=UploadLimits(), max_size=None, expiry=None)
        await again.prepare()
        await again.close()
        assert await store.used_bytes() == len(content)
    finally:
        await store.close()
