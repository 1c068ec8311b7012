"""Two hosts storing into one bucket with the quota's ledger in PostgreSQL: the quota holds for
both together, deletes and reservations count for both, a host's recount keeps the other's
reservations, the lock excludes across hosts, and a database that does not answer publishes
nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import pytest

from quart_app.database import database_location
from quart_app.shared_ledger import SharedLedger
from quart_app.upload_engine import (
    InsufficientStorageError,
    ResumableStore,
    S3Settings,
    S3UploadStore,
    StorageUnavailableError,
    UploadLimits,
)
from quart_app.upload_engine.ledger import META_DIR

from ..support.postgres import PostgresServer, running_postgres
from ..support.seaweedfs import SeaweedFS, s3_client

pytestmark = [pytest.mark.server, pytest.mark.slow]

MIB = 1024 * 1024
PART = 5 * MIB


def _host(
    root: Path, seaweedfs: SeaweedFS, prefix: str, database_url: str, quota: int | None
) -> S3UploadStore:
    """One host's store: its own state folder, the shared bucket, prefix and database."""
    settings = S3Settings(
        bucket=seaweedfs.bucket,
        endpoint_url=seaweedfs.endpoint_url,
        prefix=prefix,
        region=seaweedfs.region,
        access_key=seaweedfs.access_key,
        secret_key=seaweedfs.secret_key,
        part_size=PART,
        buffer_total=2 * PART,
    )
    ledger = SharedLedger(
        root / META_DIR,
        quota=quota,
        location=database_location(database_url),
        store=f"s3://{settings.bucket}/{prefix}",
    )
    return S3UploadStore(root, settings, quota=quota, fsync=False, ledger=ledger)


@pytest.fixture
def prefix() -> str:
    return f"tests/{uuid.uuid4().hex}/"


def _resumable(host: S3UploadStore) -> ResumableStore:
    return ResumableStore(host, limits=UploadLimits(idle_timeout=None), max_size=None, expiry=None)


@pytest.fixture
async def two_hosts(
    seaweedfs: SeaweedFS, prefix: str, postgres_url: str, tmp_path: Path
) -> AsyncIterator[tuple[S3UploadStore, S3UploadStore]]:
    """Hosts a and b with a quota of 3 MiB together; each takes resumable uploads too."""
    async with AsyncExitStack() as stack:
        hosts = []
        for name in ("a", "b"):
            host = _host(tmp_path / name, seaweedfs, prefix, postgres_url, quota=3 * MIB)
            host.resumable = _resumable(host)  # type: ignore[attr-defined]
            await host.prepare()
            stack.push_async_callback(host.close)
            hosts.append(host)
        yield hosts[0], hosts[1]


async def _store(host: S3UploadStore, name: str, size: int) -> str:
    upload = await host.begin(name, "application/octet-stream")
    await upload.write([bytes(size)])
    await upload.finish()
    [stored] = await host.commit([upload])
    return stored.name


async def test_the_quota_holds_for_both_hosts_together(
    two_hosts: tuple[S3UploadStore, S3UploadStore],
) -> None:
    a, b = two_hosts
    outcomes = await asyncio.gather(
        *(_store(host, f"{i}.bin", MIB) for i in range(4) for host in (a, b)),
        return_exceptions=True,
    )
    stored = [outcome for outcome in outcomes if isinstance(outcome, str)]
    refused = [o for o in outcomes if isinstance(o, InsufficientStorageError)]
    assert (len(stored), len(refused)) == (3, 5), outcomes
    assert (await a.list_page(1, 10)).total == 3
    assert await a.used_bytes() == await b.used_bytes() == 3 * MIB
    assert a.in_flight_bytes == b.in_flight_bytes == 0


async def test_a_delete_on_one_host_frees_room_on_the_other(
    two_hosts: tuple[S3UploadStore, S3UploadStore],
) -> None:
    a, b = two_hosts
    names = [await _store(a, f"{i}.bin", MIB) for i in range(3)]
    with pytest.raises(InsufficientStorageError):
        await _store(b, "more.bin", MIB)
    assert await b.delete(names[0])
    assert await a.used_bytes() == 2 * MIB
    await _store(b, "more.bin", MIB)
    assert await a.used_bytes() == await b.used_bytes() == 3 * MIB


async def test_a_hosts_recount_keeps_the_other_hosts_reservations(
    seaweedfs: SeaweedFS, prefix: str, postgres_url: str, tmp_path: Path
) -> None:
    a = _host(tmp_path / "a", seaweedfs, prefix, postgres_url, quota=4 * MIB)
    resumable = ResumableStore(
        a, limits=UploadLimits(idle_timeout=None), max_size=None, expiry=None
    )
    await a.prepare()
    try:
        created = await resumable.create(
            length=2 * MIB, original_name="tus.bin", content_type="x/y", metadata=""
        )
        await _store(a, "plain.bin", MIB)
        # Host b starts (and recounts) while host a's resumable upload holds its reservation.
        b = _host(tmp_path / "b", seaweedfs, prefix, postgres_url, quota=4 * MIB)
        await b.prepare()
        try:
            assert await b.used_bytes() == 3 * MIB
            with pytest.raises(InsufficientStorageError):
                await _store(b, "too-much.bin", 2 * MIB)
            # Finishing the resumable upload turns its reservation into a stored file.
            content = bytes(range(256)) * (2 * MIB // 256)

            async def batches() -> AsyncIterator[list[bytes]]:
                for start in range(0, len(content), 65536):
                    yield [content[start : start + 65536]]

            _, stored = await resumable.append(created.id, batches(), offset=0)
            assert stored is not None
            assert await b.used_bytes() == 3 * MIB
            await _store(b, "last.bin", MIB)
            assert await a.used_bytes() == 4 * MIB
        finally:
            await b.close()
    finally:
        await a.close()


async def test_a_terminated_upload_releases_its_reservation_for_every_host(
    two_hosts: tuple[S3UploadStore, S3UploadStore],
) -> None:
    a, b = two_hosts
    resumable = ResumableStore(
        a, limits=UploadLimits(idle_timeout=None), max_size=None, expiry=None
    )
    created = await resumable.create(
        length=3 * MIB, original_name="big.bin", content_type="x/y", metadata=""
    )
    with pytest.raises(InsufficientStorageError):
        await _store(b, "one.bin", MIB)
    await resumable.terminate(created.id)
    assert await b.used_bytes() == 0
    await _store(b, "one.bin", MIB)


async def test_the_ledgers_lock_excludes_the_other_host(
    two_hosts: tuple[S3UploadStore, S3UploadStore],
) -> None:
    a, b = two_hosts
    async with a.ledger.locked_from_loop():
        committing = asyncio.ensure_future(_store(b, "waits.bin", MIB))
        await asyncio.sleep(1.0)
        assert not committing.done(), "b published while a held the ledger's lock"
    assert await asyncio.wait_for(committing, 30)
    assert await a.used_bytes() == MIB


async def test_a_recount_corrects_the_published_bytes_from_the_bucket(
    seaweedfs: SeaweedFS, prefix: str, postgres_url: str, tmp_path: Path
) -> None:
    a = _host(tmp_path / "a", seaweedfs, prefix, postgres_url, quota=None)
    await a.prepare()
    try:
        await _store(a, "kept.bin", MIB)
    finally:
        await a.close()
    connection = await asyncpg.connect(postgres_url)
    try:
        # As a crash between publishing and recording would leave it.
        await connection.execute("UPDATE upload_usage SET published = 7")
    finally:
        await connection.close()
    again = _host(tmp_path / "a", seaweedfs, prefix, postgres_url, quota=None)
    await again.prepare()
    try:
        assert await again.used_bytes() == MIB
    finally:
        await again.close()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


async def test_a_database_that_stops_answering_publishes_nothing(
    seaweedfs: SeaweedFS, prefix: str, own_postgres: PostgresServer, tmp_path: Path
) -> None:
    a = _host(tmp_path / "a", seaweedfs, prefix, own_postgres.url, quota=10 * MIB)
    await a.prepare()
    try:
        upload = await a.begin("lost.bin", "application/octet-stream")
        await upload.write([bytes(MIB)])
        await upload.finish()
        own_postgres.stop()
        try:
            with pytest.raises(StorageUnavailableError) as refused:
                await a.commit([upload])
            assert refused.value.status == 503
            assert _keys(seaweedfs, prefix) == []
            assert a.in_flight_bytes == 0
            # The listing is the database's too: it does not answer either.
            with pytest.raises(StorageUnavailableError):
                await a.list_page(1, 10)
        finally:
            own_postgres.start()
        assert (await a.list_page(1, 10)).total == 0
        await _store(a, "after.bin", MIB)
        assert await a.used_bytes() == MIB
    finally:
        await a.close()


def _keys(seaweedfs: SeaweedFS, prefix: str) -> list[str]:
    listed = s3_client(seaweedfs).list_objects_v2(Bucket=seaweedfs.bucket, Prefix=prefix)
    return sorted(item.get("Key", "").removeprefix(prefix) for item in listed.get("Contents", []))


async def test_the_listing_comes_from_the_database_newest_first(
    two_hosts: tuple[S3UploadStore, S3UploadStore], seaweedfs: SeaweedFS, prefix: str
) -> None:
    a, b = two_hosts
    names = [await _store(a if i % 2 else b, f"{i}.bin", 1000 + i) for i in range(3)]
    first = await b.list_page(1, 2)
    second = await a.list_page(2, 2)
    assert (first.total, first.pages, second.page) == (3, 2, 2)
    assert [f.name for f in first.files + second.files] == names[::-1]
    assert [f.size for f in second.files] == [1000]
    described = await a.get(names[2])
    assert described is not None and described.size == 1002
    assert described.original_name == "2.bin"
    # The records live in the database alone: the bucket holds the files and nothing else.
    assert _keys(seaweedfs, prefix) == sorted(names)


async def test_files_stored_before_the_database_kept_the_records_are_adopted(
    seaweedfs: SeaweedFS, prefix: str, postgres_url: str, tmp_path: Path
) -> None:
    settings = _host(tmp_path / "a", seaweedfs, prefix, postgres_url, quota=None).settings
    before = S3UploadStore(tmp_path / "before", settings, fsync=False)
    await before.prepare()
    try:
        kept = await _store(before, "kept.bin", 2000)
    finally:
        await before.close()
    after = _host(tmp_path / "a", seaweedfs, prefix, postgres_url, quota=None)
    await after.prepare()
    try:
        listed = await after.list_page(1, 10)
        assert [(f.name, f.original_name, f.size) for f in listed.files] == [
            (kept, "kept.bin", 2000)
        ]
        assert await after.used_bytes() == 2000
    finally:
        await after.close()


async def test_a_start_forgets_lost_objects_and_removes_unrecorded_ones(
    seaweedfs: SeaweedFS, prefix: str, postgres_url: str, tmp_path: Path
) -> None:
    a = _host(tmp_path / "a", seaweedfs, prefix, postgres_url, quota=None)
    await a.prepare()
    try:
        lost, kept = await _store(a, "lost.bin", 100), await _store(a, "kept.bin", 200)
    finally:
        await a.close()
    client = s3_client(seaweedfs)
    # As an interrupted delete and an interrupted commit would leave them.
    client.delete_object(Bucket=seaweedfs.bucket, Key=prefix + lost)
    client.put_object(Bucket=seaweedfs.bucket, Key=prefix + "stray-0123456789ab.bin", Body=b"x")
    again = _host(tmp_path / "a", seaweedfs, prefix, postgres_url, quota=None)
    await again.prepare()
    try:
        assert [f.name for f in (await again.list_page(1, 10)).files] == [kept]
        assert await again.used_bytes() == 200
        assert _keys(seaweedfs, prefix) == [kept]
    finally:
        await again.close()
