"""Resumable uploads under faults: a full disk mid-PATCH, a crash that left bytes past the
recorded offset, tore an offset record or a new state file, or came between a publication's
commit and its state; a restart between PATCHes, leftovers in the hidden folder."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import struct
from pathlib import Path

import httpx
import pytest
from quart import Quart

from quart_app import create_app
from quart_app.upload_engine import resumable
from quart_app.upload_engine.resumable import ResumableStore

from ..support.app_settings import API_KEY, app_config, server_env
from ..support.faults import disk_full_error, no_space
from ..support.live_server import quart_app_server
from ..support.raw_http import WAIT_SECONDS
from ..support.tus import TUS_AUTH, chunk, creation, tus_files, upload_id

LISTING = {"X-API-Key": API_KEY, "Accept": "application/json"}
MIB = 1024 * 1024


def fresh_app(tmp_path: Path, **overrides: object) -> Quart:
    return create_app(app_config(tmp_path, SEED_DEMO_USERS=False, **overrides))


async def stored_digest(app: Quart) -> str:
    files = await (await app.test_client().get("/uploads", headers=LISTING)).get_json()
    [stored] = files["files"]
    return str(stored["sha256"])


async def test_a_full_disk_mid_patch_is_507_and_the_offset_stays_true(
    tmp_path: Path, uploads_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = fresh_app(tmp_path)
    async with app.test_app():
        client = app.test_client()
        location = (await client.post("/files/", headers=creation(6))).headers["Location"]
        assert (await client.patch(location, headers=chunk(0), data=b"abc")).status_code == 204
        with monkeypatch.context() as patched:
            patched.setattr(resumable, "hash_and_write", no_space)
            refused = await client.patch(location, headers=chunk(3), data=b"def")
        assert refused.status_code == 507
        assert (await refused.get_json())["status"] == 507
        assert (await client.head(location, headers=TUS_AUTH)).headers["Upload-Offset"] == "3"
        assert (await client.patch(location, headers=chunk(3), data=b"def")).status_code == 204
        assert await stored_digest(app) == hashlib.sha256(b"abcdef").hexdigest()


async def test_a_full_disk_when_the_bytes_are_flushed_keeps_the_old_offset(
    tmp_path: Path, uploads_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = fresh_app(tmp_path)

    def failing_flush(descriptor: int, *, fsync: bool) -> None:
        os.close(descriptor)
        raise disk_full_error()

    async with app.test_app():
        client = app.test_client()
        location = (await client.post("/files/", headers=creation(6))).headers["Location"]
        with monkeypatch.context() as patched:
            patched.setattr(resumable, "sync_and_close", failing_flush)
            refused = await client.patch(location, headers=chunk(0), data=b"abc")
        assert refused.status_code == 507
        assert (await client.head(location, headers=TUS_AUTH)).headers["Upload-Offset"] == "0"
        assert (await client.patch(location, headers=chunk(0), data=b"abcdef")).status_code == 204
        assert await stored_digest(app) == hashlib.sha256(b"abcdef").hexdigest()


async def test_state_survives_a_restart_and_bytes_past_the_offset_are_dropped(
    tmp_path: Path, uploads_dir: Path
) -> None:
    first = fresh_app(tmp_path, UPLOAD_QUOTA=100)
    async with first.test_app():
        client = first.test_client()
        location = (await client.post("/files/", headers=creation(60))).headers["Location"]
        await client.patch(location, headers=chunk(0), data=b"abc")
    # A crash mid-PATCH: bytes written, the offset that would cover them never recorded.
    with (uploads_dir / ".tus" / f"{upload_id(location)}.data").open("ab") as data:
        data.write(b"never acknowledged")
    (uploads_dir / ".tus" / "0123456789abcdef0123456789abcdef.data").write_bytes(b"orphan")
    (uploads_dir / ".meta" / ".usage").write_text("0")
    second = fresh_app(tmp_path, UPLOAD_QUOTA=100)
    async with second.test_app():
        client = second.test_client()
        status = await client.head(location, headers=TUS_AUTH)
        assert (status.headers["Upload-Offset"], status.headers["Upload-Length"]) == ("3", "60")
        assert (uploads_dir / ".meta" / ".usage").read_text() == "60", "the ledger is recounted"
        assert (await client.post("/files/", headers=creation(41))).status_code == 507
        rest = b"d" * 57
        assert (await client.patch(location, headers=chunk(3), data=rest)).status_code == 204
        assert await stored_digest(second) == hashlib.sha256(b"abc" + rest).hexdigest()
    assert not [name for name in tus_files(uploads_dir) if name.endswith(".data")]


async def test_a_publication_the_crash_interrupted_is_recognised(
    tmp_path: Path, uploads_dir: Path
) -> None:
    app = fresh_app(tmp_path)
    async with app.test_app():
        client = app.test_client()
        location = (await client.post("/files/", headers=creation(3))).headers["Location"]
        await client.patch(location, headers=chunk(0), data=b"ab")
    # As if the commit had linked the file and the crash came before the state said so.
    data = uploads_dir / ".tus" / f"{upload_id(location)}.data"
    data.write_bytes(b"abc")
    state = uploads_dir / ".tus" / f"{upload_id(location)}.json"
    state.write_text(state.read_text().replace('"offset": 0', '"offset": 3'))
    os.link(data, uploads_dir / "elsewhere.bin")
    again = fresh_app(tmp_path)
    async with again.test_app():
        status = await again.test_client().head(location, headers=TUS_AUTH)
        assert status.headers["Upload-Offset"] == "3"
    assert not data.exists()
    assert (uploads_dir / ".meta" / ".usage").read_text() == "0", "nothing reserved any more"


def tear_offset_record(uploads_dir: Path, location: str, offset: int) -> None:
    """Spoil the slot holding ``offset`` as a crash mid-write would: the offset's bytes new,
    the checksum still the old one."""
    path = uploads_dir / ".tus" / f"{upload_id(location)}.offset"
    raw = bytearray(path.read_bytes())
    index = raw.find(struct.pack("<Q", offset))
    assert index > 0, "the offset is recorded"
    raw[index : index + 8] = struct.pack("<Q", offset + 1)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    ("torn", "kept"),
    [((6,), 3), ((6, 3), 0)],
    ids=["newest-torn", "both-torn"],
)
async def test_a_torn_offset_record_falls_back_to_the_offset_before_it(
    tmp_path: Path, uploads_dir: Path, torn: tuple[int, ...], kept: int
) -> None:
    content = b"abcdefghi"
    first = fresh_app(tmp_path)
    async with first.test_app():
        client = first.test_client()
        location = (await client.post("/files/", headers=creation(9))).headers["Location"]
        assert (await client.patch(location, headers=chunk(0), data=b"abc")).status_code == 204
        assert (await client.patch(location, headers=chunk(3), data=b"DEF")).status_code == 204
    # A crash tore the record of offset 6: the other slot still holds 3, whose bytes are
    # durable; with both torn, the state file's 0 is. Bytes past it are cut off by the next PATCH.
    for offset in torn:
        tear_offset_record(uploads_dir, location, offset)
    second = fresh_app(tmp_path)
    async with second.test_app():
        client = second.test_client()
        status = await client.head(location, headers=TUS_AUTH)
        assert status.headers["Upload-Offset"] == str(kept)
        assert (await client.patch(location, headers=chunk(6), data=b"x")).status_code == 409
        rest = await client.patch(location, headers=chunk(kept), data=content[kept:])
        assert rest.status_code == 204
        assert await stored_digest(second) == hashlib.sha256(content).hexdigest()


async def test_a_creation_whose_state_the_crash_cut_short_leaves_nothing(
    tmp_path: Path, uploads_dir: Path
) -> None:
    first = fresh_app(tmp_path, UPLOAD_QUOTA=100)
    async with first.test_app():
        location = (await first.test_client().post("/files/", headers=creation(60))).headers[
            "Location"
        ]
    # The state is written under the lock and fsynced after it: a crash can leave it torn.
    state = uploads_dir / ".tus" / f"{upload_id(location)}.json"
    state.write_bytes(state.read_bytes()[:20])
    second = fresh_app(tmp_path, UPLOAD_QUOTA=100)
    async with second.test_app():
        status = await second.test_client().head(location, headers=TUS_AUTH)
        assert status.status_code == 404
    assert tus_files(uploads_dir) == []
    assert (uploads_dir / ".meta" / ".usage").read_text() == "0", "its reservation is gone"


@pytest.mark.parametrize("writer_alive", [False, True], ids=["writer-gone", "writer-alive"])
async def test_a_crash_between_the_commit_and_the_state_saying_so_is_recognised(
    tmp_path: Path, uploads_dir: Path, monkeypatch: pytest.MonkeyPatch, writer_alive: bool
) -> None:
    first = fresh_app(tmp_path, UPLOAD_QUOTA=100)
    async with first.test_app():
        client = first.test_client()
        location = (await client.post("/files/", headers=creation(3))).headers["Location"]
        with monkeypatch.context() as patched:
            # The commit is done and the crash comes before the state is brought in line.
            patched.setattr(ResumableStore, "_record_published", lambda self, upload: None)
            assert (await client.patch(location, headers=chunk(0), data=b"abc")).status_code == 204
    state = uploads_dir / ".tus" / f"{upload_id(location)}.json"
    left = json.loads(state.read_text())
    assert (left["stored_name"], left["reserved"]) == (None, 3), "the state as a crash leaves it"
    lock = os.open(uploads_dir / ".tus" / f"{upload_id(location)}.offset", os.O_RDWR)
    try:
        if writer_alive:
            # Another worker still about to record it: its reservation is not counted either.
            fcntl.flock(lock, fcntl.LOCK_EX)
        again = fresh_app(tmp_path, UPLOAD_QUOTA=100)
        async with again.test_app():
            assert (uploads_dir / ".meta" / ".usage").read_text() == "3", "counted once"
            fcntl.flock(lock, fcntl.LOCK_UN)
            client = again.test_client()
            assert (await client.head(location, headers=TUS_AUTH)).headers["Upload-Offset"] == "3"
            assert await stored_digest(again) == hashlib.sha256(b"abc").hexdigest()
    finally:
        os.close(lock)
    if not writer_alive:
        assert json.loads(state.read_text())["reserved"] == 0


async def test_a_state_that_cannot_be_recorded_after_publication_is_removed(
    tmp_path: Path, uploads_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = fresh_app(tmp_path, UPLOAD_QUOTA=100)
    async with app.test_app():
        client = app.test_client()
        location = (await client.post("/files/", headers=creation(3))).headers["Location"]
        with monkeypatch.context() as patched:
            patched.setattr(ResumableStore, "_write_state", no_space)
            published = await client.patch(location, headers=chunk(0), data=b"abc")
        assert published.status_code == 204, "the file is published all the same"
        assert await stored_digest(app) == hashlib.sha256(b"abc").hexdigest()
        assert (await client.head(location, headers=TUS_AUTH)).status_code == 404
    assert tus_files(uploads_dir) == []
    assert (uploads_dir / ".meta" / ".usage").read_text() == "3"


@pytest.mark.server
@pytest.mark.slow
async def test_a_real_full_disk_mid_patch_keeps_a_consistent_offset(
    tmp_path: Path, small_disk: Path
) -> None:
    content = os.urandom(6 * MIB)
    with quart_app_server(server_env(tmp_path)) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=WAIT_SECONDS) as http:
            filler = [("wordlist-upload", ("filler.bin", os.urandom(4 * MIB)))]
            stored = await http.post("/upload", headers=LISTING, files=filler)
            assert stored.status_code == 201
            location = (await http.post("/files/", headers=creation(len(content)))).headers[
                "location"
            ]
            refused = await http.patch(location, headers=chunk(0), content=content)
            assert refused.status_code == 507
            offset = int((await http.head(location, headers=TUS_AUTH)).headers["upload-offset"])
            assert 0 <= offset < len(content)
            data = small_disk / ".tus" / f"{upload_id(location)}.data"
            assert data.read_bytes()[:offset] == content[:offset]
            url = stored.json()["files"][0]["url"]
            assert (await http.delete(url, headers=LISTING)).status_code == 204
            rest = await http.patch(location, headers=chunk(offset), content=content[offset:])
            assert rest.status_code == 204
            files = (await http.get("/uploads", headers=LISTING)).json()["files"]
    assert [file["sha256"] for file in files] == [hashlib.sha256(content).hexdigest()]
