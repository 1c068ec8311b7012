"""tus 1.0.0 at /files/ through the Quart test client: every status and header of the core
protocol and its extensions."""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart import typing as quart_typing
from quart.testing import QuartClient

from quart_app import create_app
from quart_app.upload_settings import get_resumable_store

from ..support.app_settings import API_KEY, app_config
from ..support.sign_in import csrf_token_from, sign_in
from ..support.tus import (
    OCTETS,
    TUS,
    TUS_AUTH,
    checksum,
    chunk,
    creation,
    metadata,
    tus_files,
    upload_id,
)

Client = QuartClient | quart_typing.TestClientProtocol
LISTING = {"X-API-Key": API_KEY, "Accept": "application/json"}


async def create(client: Client, length: int | None, **values: str) -> str:
    response = await client.post("/files/", headers=creation(length, **values))
    assert response.status_code == 201, await response.get_data(as_text=True)
    return response.headers["Location"]


async def listing(client: Client) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = (
        await (await client.get("/uploads", headers=LISTING)).get_json()
    )["files"]
    return files


async def usage(uploads: Path) -> int:
    return int((uploads / ".meta" / ".usage").read_text())


async def test_options_names_version_extensions_size_and_checksums(client: QuartClient) -> None:
    response = await client.options("/files/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    extensions = set(response.headers["Tus-Extension"].split(","))
    assert extensions == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "checksum",
        "expiration",
        "concatenation",
    }
    assert response.headers["Tus-Max-Size"] == str(4 * 1024**3)
    assert set(response.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "sha256"}


async def test_a_file_sent_in_two_chunks_is_published_like_an_upload(
    client: QuartClient, uploads_dir: Path
) -> None:
    location = await create(client, 10, filename="notes.txt", filetype="text/plain")
    assert location.startswith("/files/") and len(upload_id(location)) == 32
    head = await client.head(location, headers=TUS_AUTH)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == "10"
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Tus-Resumable"] == "1.0.0"
    assert head.headers["Upload-Metadata"] == metadata(filename="notes.txt", filetype="text/plain")
    first = await client.patch(location, headers=chunk(0), data=b"hello")
    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == "5"
    assert await listing(client) == [], "an unfinished upload is never listed"
    assert [path for path in uploads_dir.iterdir() if path.is_file()] == []
    last = await client.patch(location, headers=chunk(5), data=b"world")
    assert last.status_code == 204
    assert last.headers["Upload-Offset"] == "10"
    [stored] = await listing(client)
    assert stored["original_name"] == "notes.txt"
    assert stored["content_type"] == "text/plain"
    assert stored["sha256"] == hashlib.sha256(b"helloworld").hexdigest()
    assert last.headers["Content-Location"] == stored["url"]
    download = await client.get(stored["url"], headers=LISTING)
    assert await download.get_data() == b"helloworld"
    assert await usage(uploads_dir) == 10
    after = await client.head(location, headers=TUS_AUTH)
    assert after.headers["Upload-Offset"] == "10", "a finished upload still says it is done"


async def test_an_empty_file_is_published_at_creation(client: QuartClient) -> None:
    response = await client.post("/files/", headers=creation(0, filename="empty.txt"))
    assert response.status_code == 201
    [stored] = await listing(client)
    assert stored["size"] == 0
    assert stored["sha256"] == hashlib.sha256(b"").hexdigest()


async def test_a_wrong_offset_is_a_conflict_and_changes_nothing(client: QuartClient) -> None:
    location = await create(client, 4)
    await client.patch(location, headers=chunk(0), data=b"ab")
    response = await client.patch(location, headers=chunk(1), data=b"bc")
    assert response.status_code == 409
    assert (await response.get_json())["status"] == 409
    head = await client.head(location, headers=TUS_AUTH)
    assert head.headers["Upload-Offset"] == "2"


async def test_patch_needs_the_offset_content_type(client: QuartClient) -> None:
    location = await create(client, 4)
    headers = {**chunk(0), "Content-Type": "application/octet-stream"}
    response = await client.patch(location, headers=headers, data=b"ab")
    assert response.status_code == 415


@pytest.mark.parametrize("version", [None, "0.2.2", "2.0.0"])
async def test_requests_without_the_supported_version_are_refused_412(
    client: QuartClient, version: str | None
) -> None:
    headers = {"X-API-Key": API_KEY, "Upload-Length": "3"}
    if version is not None:
        headers["Tus-Resumable"] = version
    response = await client.post("/files/", headers=headers)
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"
    assert (await response.get_json())["status"] == 412


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 400),
        ({"Upload-Length": "-1"}, 400),
        ({"Upload-Length": "ten"}, 400),
        ({"Upload-Length": "3", "Upload-Defer-Length": "1"}, 400),
        ({"Upload-Defer-Length": "2"}, 400),
        ({"Upload-Length": "3", "Upload-Metadata": "filename not-base64!"}, 400),
        ({"Upload-Length": "3", "Upload-Metadata": "a YQ==,a YQ=="}, 400),
        ({"Upload-Length": "3", "Upload-Concat": "whole"}, 400),
        ({"Upload-Length": str(4 * 1024**3 + 1)}, 413),
    ],
)
async def test_bad_creations_get_a_4xx_json_answer(
    client: QuartClient, uploads_dir: Path, headers: dict[str, str], status: int
) -> None:
    response = await client.post("/files/", headers={**TUS_AUTH, **headers})
    assert response.status_code == status
    answer = await response.get_json()
    assert answer["status"] == status and answer["message"]
    assert tus_files(uploads_dir) == []


async def test_the_file_and_request_limits_apply_at_creation(
    tmp_path: Path, uploads_dir: Path
) -> None:
    app = create_app(app_config(tmp_path, UPLOAD_MAX_FILE_SIZE=100, SEED_DEMO_USERS=False))
    async with app.test_app():
        client = app.test_client()
        options = await client.options("/files/")
        assert options.headers["Tus-Max-Size"] == "100"
        assert (await client.post("/files/", headers=creation(101))).status_code == 413
        assert (await client.post("/files/", headers=creation(100))).status_code == 201


async def test_credentials_are_those_of_the_api(client: QuartClient) -> None:
    anonymous = await client.post("/files/", headers={**TUS, "Upload-Length": "1"})
    assert anonymous.status_code == 401
    assert (await anonymous.get_json())["status"] == 401
    wrong = {**TUS, "Upload-Length": "1", "X-API-Key": "wrong"}
    assert (await client.post("/files/", headers=wrong)).status_code == 403


async def test_a_signed_in_user_writes_with_the_csrf_header(client: QuartClient) -> None:
    await sign_in(client)
    token = await csrf_token_from(client, "/upload")
    base = {**TUS, "Upload-Length": "2", "Upload-Metadata": metadata(filename="a.txt")}
    assert (await client.post("/files/", headers=base)).status_code == 400, "as /upload: CSRF"
    created = await client.post("/files/", headers={**base, "X-CSRF-Token": token})
    assert created.status_code == 201
    location = created.headers["Location"]
    patch = {**TUS, "Upload-Offset": "0", "Content-Type": OCTETS}
    assert (await client.patch(location, headers=patch, data=b"hi")).status_code == 400
    assert (await client.head(location, headers=TUS)).headers["Upload-Offset"] == "0"
    done = await client.patch(location, headers={**patch, "X-CSRF-Token": token}, data=b"hi")
    assert done.status_code == 204


async def test_unknown_and_malformed_ids_are_404(client: QuartClient) -> None:
    for location in ("/files/" + "0" * 32, "/files/..%2F.meta", "/files/.usage"):
        assert (await client.head(location, headers=TUS_AUTH)).status_code == 404
        response = await client.patch(location, headers=chunk(0), data=b"x")
        assert response.status_code == 404


async def test_termination_removes_the_upload_and_releases_its_quota(
    client: QuartClient, uploads_dir: Path
) -> None:
    location = await create(client, 1000)
    await client.patch(location, headers=chunk(0), data=b"x" * 10)
    assert await usage(uploads_dir) == 1000, "the whole length is reserved"
    response = await client.delete(location, headers=TUS_AUTH)
    assert response.status_code == 204
    assert await usage(uploads_dir) == 0
    assert tus_files(uploads_dir) == []
    assert (await client.head(location, headers=TUS_AUTH)).status_code == 404
    assert (await client.delete(location, headers=TUS_AUTH)).status_code == 404


async def test_method_override_stands_for_patch_and_delete(client: QuartClient) -> None:
    location = await create(client, 4)
    patch = {**chunk(0), "X-HTTP-Method-Override": "PATCH"}
    response = await client.post(location, headers=patch, data=b"ab")
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "2"
    delete = {**TUS_AUTH, "X-HTTP-Method-Override": "DELETE"}
    assert (await client.post(location, headers=delete)).status_code == 204
    get = {**TUS_AUTH, "X-HTTP-Method-Override": "GET"}
    assert (await client.post(location, headers=get)).status_code == 405


async def test_quota_is_reserved_at_creation(tmp_path: Path, uploads_dir: Path) -> None:
    app = create_app(app_config(tmp_path, UPLOAD_QUOTA=100, SEED_DEMO_USERS=False))
    async with app.test_app():
        client = app.test_client()
        assert (await client.post("/files/", headers=creation(60))).status_code == 201
        refused = await client.post("/files/", headers=creation(60))
        assert refused.status_code == 507
        assert (await refused.get_json())["status"] == 507
        assert (await client.post("/files/", headers=creation(40))).status_code == 201


async def test_quota_is_never_exceeded_by_concurrent_creations(
    tmp_path: Path, uploads_dir: Path
) -> None:
    app = create_app(app_config(tmp_path, UPLOAD_QUOTA=1000, SEED_DEMO_USERS=False))
    async with app.test_app():
        client = app.test_client()
        answers = await asyncio.gather(
            *(client.post("/files/", headers=creation(100)) for _ in range(16))
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [201] * 10 + [507] * 6
        assert await usage(uploads_dir) == 1000


async def test_a_wrong_expected_digest_is_422_and_nothing_is_published(
    client: QuartClient, uploads_dir: Path
) -> None:
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    headers = {**creation(3, filename="a.txt"), "Repr-Digest": f"sha-256=:{wrong}:"}
    location = (await client.post("/files/", headers=headers)).headers["Location"]
    response = await client.patch(location, headers=chunk(0), data=b"abc")
    assert response.status_code == 422
    assert await listing(client) == []
    assert tus_files(uploads_dir) == []
    assert await usage(uploads_dir) == 0


async def test_an_expected_digest_in_the_metadata_is_checked(client: QuartClient) -> None:
    good = hashlib.sha256(b"abc").hexdigest()
    location = await create(client, 3, filename="a.txt", sha256=good)
    assert (await client.patch(location, headers=chunk(0), data=b"abc")).status_code == 204
    [stored] = await listing(client)
    assert stored["sha256"] == good


async def test_a_chunk_past_the_length_is_413_and_not_kept(client: QuartClient) -> None:
    location = await create(client, 3)
    response = await client.patch(location, headers=chunk(0), data=b"abcd")
    assert response.status_code == 413
    assert (await client.head(location, headers=TUS_AUTH)).headers["Upload-Offset"] == "0"


async def test_a_second_writer_gets_423_while_one_writes(
    app: Quart, client: QuartClient, uploads_dir: Path
) -> None:
    location = await create(client, 10)
    lock = uploads_dir / ".tus" / f"{upload_id(location)}.offset"
    descriptor = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        response = await client.patch(location, headers=chunk(0), data=b"ab")
        assert response.status_code == 423
        assert (await client.delete(location, headers=TUS_AUTH)).status_code == 423
    finally:
        os.close(descriptor)
    assert (await client.patch(location, headers=chunk(0), data=b"ab")).status_code == 204


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
async def test_a_chunk_with_a_matching_checksum_is_kept(
    client: QuartClient, algorithm: str
) -> None:
    location = await create(client, 6)
    headers = chunk(0, **{"Upload-Checksum": checksum(algorithm, b"abc")})
    response = await client.patch(location, headers=headers, data=b"abc")
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "3"


async def test_a_checksum_mismatch_is_460_and_the_chunk_is_discarded(
    client: QuartClient,
) -> None:
    location = await create(client, 6)
    await client.patch(location, headers=chunk(0), data=b"abc")
    headers = chunk(3, **{"Upload-Checksum": checksum("sha1", b"xyz")})
    response = await client.patch(location, headers=headers, data=b"def")
    assert response.status_code == 460
    assert (await client.head(location, headers=TUS_AUTH)).headers["Upload-Offset"] == "3"
    assert (await client.patch(location, headers=chunk(3), data=b"def")).status_code == 204
    [stored] = await listing(client)
    assert stored["sha256"] == hashlib.sha256(b"abcdef").hexdigest()


@pytest.mark.parametrize("value", ["md5 kAFQmDzST7DWlj99KOF/cg==", "crc32 AAAA", "sha1 !!"])
async def test_an_unsupported_or_bad_checksum_is_400(client: QuartClient, value: str) -> None:
    location = await create(client, 3)
    headers = chunk(0, **{"Upload-Checksum": value})
    assert (await client.patch(location, headers=headers, data=b"abc")).status_code == 400


async def test_a_deferred_length_is_declared_by_a_later_patch(client: QuartClient) -> None:
    location = await create(client, None, filename="later.bin")
    head = await client.head(location, headers=TUS_AUTH)
    assert head.headers["Upload-Defer-Length"] == "1"
    assert "Upload-Length" not in head.headers
    assert (await client.patch(location, headers=chunk(0), data=b"abc")).status_code == 204
    assert await listing(client) == []
    final = chunk(3, **{"Upload-Length": "5"})
    assert (await client.patch(location, headers=final, data=b"de")).status_code == 204
    [stored] = await listing(client)
    assert stored["size"] == 5


async def test_a_deferred_length_is_limited_as_bytes_arrive(
    tmp_path: Path, uploads_dir: Path
) -> None:
    app = create_app(app_config(tmp_path, UPLOAD_MAX_FILE_SIZE=4, SEED_DEMO_USERS=False))
    async with app.test_app():
        client = app.test_client()
        location = await create(client, None)
        response = await client.patch(location, headers=chunk(0), data=b"abcde")
        assert response.status_code == 413


async def test_creation_with_upload_takes_the_first_bytes(client: QuartClient) -> None:
    headers = {**creation(6, filename="a.txt"), "Content-Type": OCTETS}
    response = await client.post("/files/", headers=headers, data=b"abc")
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "3"
    location = response.headers["Location"]
    assert (await client.patch(location, headers=chunk(3), data=b"def")).status_code == 204
    [stored] = await listing(client)
    assert stored["sha256"] == hashlib.sha256(b"abcdef").hexdigest()


async def test_creation_with_the_whole_file_publishes_it(client: QuartClient) -> None:
    headers = {**creation(3, filename="a.txt"), "Content-Type": OCTETS}
    response = await client.post("/files/", headers=headers, data=b"abc")
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "3"
    assert len(await listing(client)) == 1


async def test_expiry_is_announced_and_expired_uploads_are_gone(
    tmp_path: Path, uploads_dir: Path
) -> None:
    app = create_app(
        app_config(tmp_path, TUS_EXPIRY=0.2, TUS_SWEEP_INTERVAL=0.1, SEED_DEMO_USERS=False)
    )
    async with app.test_app():
        client = app.test_client()
        response = await client.post("/files/", headers=creation(100))
        assert response.headers["Upload-Expires"].endswith(" GMT")
        location = response.headers["Location"]
        await client.patch(location, headers=chunk(0), data=b"abc")
        assert await usage(uploads_dir) == 100
        for _ in range(50):
            if not tus_files(uploads_dir):
                break
            await asyncio.sleep(0.1)
        assert tus_files(uploads_dir) == [], "the sweep removed everything of it"
        assert await usage(uploads_dir) == 0, "and released its quota"
        assert (await client.head(location, headers=TUS_AUTH)).status_code == 404


async def test_a_sweep_forgets_the_running_hashes_of_uploads_gone_elsewhere(
    tmp_path: Path, uploads_dir: Path
) -> None:
    app = create_app(app_config(tmp_path, TUS_SWEEP_INTERVAL=3600, SEED_DEMO_USERS=False))
    async with app.test_app():
        client = app.test_client()
        kept = (await client.post("/files/", headers=creation(6))).headers["Location"]
        gone = (await client.post("/files/", headers=creation(6))).headers["Location"]
        for location in (kept, gone):
            await client.patch(location, headers=chunk(0), data=b"abc")
        # As another worker's termination would: the files go, this worker's memory does not.
        gone_id = gone.rsplit("/", 1)[1]
        for path in uploads_dir.joinpath(".tus").glob(f"{gone_id}.*"):
            path.unlink()
        async with app.app_context():
            resumable = get_resumable_store()
            await resumable.sweep_expired()
            assert list(resumable._hashes) == [kept.rsplit("/", 1)[1]]
        done = await client.patch(kept, headers=chunk(3), data=b"def")
        assert done.status_code == 204


async def test_an_expired_upload_answers_410_until_swept(
    tmp_path: Path, uploads_dir: Path
) -> None:
    app = create_app(
        app_config(tmp_path, TUS_EXPIRY=0.1, TUS_SWEEP_INTERVAL=3600, SEED_DEMO_USERS=False)
    )
    async with app.test_app():
        client = app.test_client()
        location = (await client.post("/files/", headers=creation(3))).headers["Location"]
        await asyncio.sleep(0.2)
        assert (await client.head(location, headers=TUS_AUTH)).status_code == 410
        response = await client.patch(location, headers=chunk(0), data=b"abc")
        assert response.status_code == 410


async def test_partial_uploads_are_joined_into_one_published_file(
    client: QuartClient, uploads_dir: Path
) -> None:
    partial = {"Upload-Concat": "partial"}
    first = (await client.post("/files/", headers={**creation(3), **partial})).headers["Location"]
    second = (await client.post("/files/", headers={**creation(2), **partial})).headers["Location"]
    assert (await client.head(first, headers=TUS_AUTH)).headers["Upload-Concat"] == "partial"
    await asyncio.gather(
        client.patch(second, headers=chunk(0), data=b"de"),
        client.patch(first, headers=chunk(0), data=b"abc"),
    )
    assert await listing(client) == [], "finished partial uploads are not published"
    final = {
        **TUS_AUTH,
        "Upload-Concat": f"final;{first} http://localhost{second}",
        "Upload-Metadata": metadata(filename="whole.txt"),
    }
    response = await client.post("/files/", headers=final)
    assert response.status_code == 201, await response.get_data(as_text=True)
    [stored] = await listing(client)
    assert stored["original_name"] == "whole.txt"
    assert stored["sha256"] == hashlib.sha256(b"abcde").hexdigest()
    assert await usage(uploads_dir) == 5
    assert (await client.head(first, headers=TUS_AUTH)).status_code == 404


async def test_an_unfinished_part_cannot_be_joined(client: QuartClient) -> None:
    partial = {"Upload-Concat": "partial"}
    part = (await client.post("/files/", headers={**creation(3), **partial})).headers["Location"]
    final = {**TUS_AUTH, "Upload-Concat": f"final;{part}"}
    assert (await client.post("/files/", headers=final)).status_code == 400
    plain = await create(client, 1)
    await client.patch(plain, headers=chunk(0), data=b"x")
    final = {**TUS_AUTH, "Upload-Concat": f"final;{plain}"}
    assert (await client.post("/files/", headers=final)).status_code in (400, 404)


async def test_cross_origin_clients_see_the_tus_headers(client: QuartClient) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    preflight = await client.options("/files/", headers=origin)
    assert "Upload-Offset" in preflight.headers["Access-Control-Allow-Headers"]
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    created = await client.post("/files/", headers={**creation(3), **origin})
    exposed = created.headers["Access-Control-Expose-Headers"]
    for name in ("Upload-Offset", "Location", "Upload-Length", "Tus-Resumable"):
        assert name in exposed
