"""Two hosts of one site: two `quart-app serve` instances, each with a folder of its own, sharing
only the secret key, the PostgreSQL database and the S3 bucket. Whatever one host does, the
other sees: users, sessions (and their end) and stored files."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
import httpx
import pytest

from quart_app.blueprints.uploads import UPLOAD_FIELD
from quart_app.users_store import DEMO_USERS

from .support.app_settings import API_KEY, DEMO_PASSWORD
from .support.live_server import PROJECT_ROOT, ServerProcess, quart_app_server
from .support.raw_http import WAIT_SECONDS, multipart, read_raw_response, request_head
from .support.seaweedfs import SeaweedFS
from .support.sign_in import csrf_token_in, http_sign_in
from .support.upload_backends import UploadBackend

pytestmark = [pytest.mark.server, pytest.mark.slow]

API = {"X-API-Key": API_KEY, "Accept": "application/json"}
SESSION_COOKIE = "quart_app_session"
# Not the test configuration's own key: the hosts agree on it because they are given it.
SHARED_SECRET_KEY = "two-hosts-one-secret-key"
MIB = 1024 * 1024
_ACCOUNT_NAME = re.compile(r'<span class="account-name">([^<]+)</span>')


@dataclass(frozen=True)
class Host:
    """One instance of the site: its own folder, the environment it runs in and its server."""

    folder: Path
    env: Mapping[str, str]
    server: ServerProcess

    def client(self, session: str | None = None) -> httpx.AsyncClient:
        """An HTTP client of this host, presenting the session cookie ``session`` if given."""
        cookies = {SESSION_COOKIE: session} if session else None
        return httpx.AsyncClient(
            base_url=self.server.base_url, cookies=cookies, timeout=WAIT_SECONDS
        )


Hosts: TypeAlias = tuple[Host, Host]


@contextlib.contextmanager
def serving_together(
    envs: Sequence[Mapping[str, str]], logs: Sequence[Path]
) -> Iterator[list[ServerProcess]]:
    """`quart-app serve` once per environment, all started at the same moment (so that they
    race to set up the empty database), all stopped when the block ends."""
    starting = [quart_app_server(env, output=log) for env, log in zip(envs, logs, strict=True)]
    with contextlib.ExitStack() as stack:
        with ThreadPoolExecutor(len(starting)) as pool:
            entering = [pool.submit(server.__enter__) for server in starting]
        servers: list[ServerProcess] = []
        failures: list[BaseException] = []
        for server, entered in zip(starting, entering, strict=True):
            try:
                servers.append(entered.result())
            except Exception as error:
                failures.append(error)
            else:
                stack.push(server.__exit__)
        if failures:
            raise failures[0]
        yield servers


@pytest.fixture
def shared_store(tmp_path: Path, seaweedfs: SeaweedFS) -> UploadBackend:
    """A prefix of the session's SeaweedFS bucket, the hosts' one upload store."""
    # The backend's local folder stays unused: each host has a folder of its own.
    return UploadBackend.s3(tmp_path / "unused", seaweedfs)


@contextlib.contextmanager
def two_hosts(
    tmp_path: Path, postgres_url: str, shared_store: UploadBackend, **settings: str
) -> Iterator[Hosts]:
    """Hosts A and B with ``settings``, started together on an empty database and store."""
    folders = [tmp_path / "host-a", tmp_path / "host-b"]
    envs = []
    for folder in folders:
        folder.mkdir()
        envs.append(
            shared_store.server_env(
                folder, DATABASE_URL=postgres_url, SECRET_KEY=SHARED_SECRET_KEY, **settings
            )
        )
    with serving_together(envs, [folder / "server.log" for folder in folders]) as servers:
        a, b = (
            Host(folder, env, server)
            for folder, env, server in zip(folders, envs, servers, strict=True)
        )
        yield a, b


@pytest.fixture
def hosts(tmp_path: Path, postgres_url: str, shared_store: UploadBackend) -> Iterator[Hosts]:
    """Hosts A and B, started together on an empty database and an empty store."""
    with two_hosts(tmp_path, postgres_url, shared_store) as both:
        yield both


async def signed_in_as(host: Host, session: str) -> str | None:
    """Whom ``host`` takes a visitor presenting only the session cookie ``session`` for, by
    the account menu of its home page; its protected file listing must agree."""
    async with host.client(session) as reader, host.client(session) as lister:
        page = await reader.get("/")
        listing = await lister.get("/uploads", headers={"Accept": "application/json"})
    match = _ACCOUNT_NAME.search(page.text)
    user = match.group(1) if match else None
    assert listing.status_code == (200 if user else 401), (user, listing.status_code)
    return user


async def sign_in(host: Host, username: str = "guido-van-rossum") -> str:
    """Sign ``username`` in on ``host``; the session cookie it gave."""
    async with host.client() as http:
        await http_sign_in(http, username)
        return http.cookies[SESSION_COOKIE]


async def users_in(database_url: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every user in the database: join date and awards by username."""
    connection = await asyncpg.connect(database_url)
    try:
        users = await connection.fetch("SELECT username, joined_on FROM users")
        awards = await connection.fetch(
            "SELECT username, title FROM awards ORDER BY username, position"
        )
    finally:
        await connection.close()
    return {
        user["username"]: (
            user["joined_on"],
            tuple(award["title"] for award in awards if award["username"] == user["username"]),
        )
        for user in users
    }


async def listed(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The stored files as the host lists them to an API client."""
    listing = await http.get("/uploads", headers=API)
    assert listing.status_code == 200, listing.text
    files: list[dict[str, Any]] = listing.json()["files"]
    return files


async def add_user(host: Host, username: str, *options: str) -> subprocess.CompletedProcess[str]:
    """Run `quart --app quart_app add-user` on ``host`` (its environment), with the test
    password."""
    command = [sys.executable, "-m", "quart", "--app", "quart_app", "add-user", username]
    return await asyncio.to_thread(
        subprocess.run,
        [*command, "--password", DEMO_PASSWORD, *options],
        cwd=PROJECT_ROOT,
        env={**os.environ, **host.env, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_demo_users_are_seeded_once_for_both_hosts(
    hosts: Hosts, postgres_url: str
) -> None:
    demo = {name: (joined.isoformat(), awards) for name, joined, awards in DEMO_USERS}
    for host in hosts:
        async with host.client() as http:
            for username, (joined_on, _) in demo.items():
                answer = await http.get(f"/api/users/{username}", headers=API)
                assert answer.status_code == 200, answer.text
                assert answer.json()["joined_on"] == joined_on
    assert await users_in(postgres_url) == demo
    for host in hosts:
        assert not list(host.folder.rglob("*.sqlite3")), "the users live in PostgreSQL alone"


async def test_a_session_begun_on_one_host_is_honoured_and_ended_by_the_other(
    hosts: Hosts,
) -> None:
    a, b = hosts
    guido = await sign_in(a)
    ada = await sign_in(a, "ada-lovelace")
    assert await signed_in_as(b, guido) == "guido-van-rossum"
    assert await signed_in_as(b, ada) == "ada-lovelace"

    async with b.client(guido) as on_b:
        form = await on_b.get("/upload")
        signed_out = await on_b.post("/logout", data={"csrf_token": csrf_token_in(form.text)})
        assert signed_out.status_code == 303

    assert await signed_in_as(a, guido) is None, "signing out on B ends the session on A"
    assert await signed_in_as(b, guido) is None
    assert await signed_in_as(a, ada) == "ada-lovelace", "other users stay signed in"
    again = await sign_in(a)
    assert await signed_in_as(b, again) == "guido-van-rossum", "signing in again works"


async def test_a_file_uploaded_through_one_host_is_served_and_deleted_by_the_other(
    hosts: Hosts, shared_store: UploadBackend
) -> None:
    a, b = hosts
    # Past one S3 part (5 MiB in the test settings), so that the upload is a multipart one.
    content = os.urandom(6 * MIB + 4321)
    async with a.client() as on_a, b.client() as on_b:
        assert await listed(on_a) == await listed(on_b) == []
        upload = await on_a.post(
            "/upload",
            headers=API,
            files={UPLOAD_FIELD: ("two-hosts.bin", content, "application/octet-stream")},
        )
        assert upload.status_code == 201, upload.text
        [entry] = upload.json()["files"]
        assert (entry["size"], entry["sha256"]) == (
            len(content),
            hashlib.sha256(content).hexdigest(),
        )
        name, url = entry["name"], entry["url"]
        assert shared_store.stored() == [name]
        for host in hosts:
            kept = [path for path in host.folder.rglob("*") if path.name == name]
            assert kept == [], "the file lives in the bucket alone"

        [seen_by_b] = await listed(on_b)
        assert {key: seen_by_b[key] for key in entry} == entry
        download = await on_b.get(url, headers=API)
        assert download.status_code == 200, download.text
        assert download.content == content
        assert download.headers["etag"] == f'"{entry["sha256"]}"'
        assert (await on_b.delete(url, headers=API)).status_code == 204

        assert await listed(on_a) == []
        assert (await on_a.get(url, headers=API)).status_code == 404
        assert (await on_a.delete(url, headers=API)).status_code == 404
    assert shared_store.stored() == []


async def test_a_user_added_on_one_host_signs_in_on_the_other(hosts: Hosts) -> None:
    a, b = hosts
    added = await add_user(a, "brian", "--joined", "1979-08-17", "--award", "Not the Messiah")
    assert added.returncode == 0, added.stderr
    for host in hosts:
        async with host.client() as http:
            answer = await http.get("/api/users/brian", headers=API)
            assert (answer.status_code, answer.json()["joined_on"]) == (200, "1979-08-17")
    session = await sign_in(b, "brian")
    assert await signed_in_as(a, session) == "brian"


QUOTA = 20 * MIB
FILE_SIZE = 2 * MIB


async def post_file(host: Host, content: bytes, *, cut: bool) -> int | None:
    """POST ``content`` as one file to ``host``; its status, or None when ``cut`` (the client
    goes away halfway through the body)."""
    port = host.server.port
    body = multipart((f"burst-{len(content)}.bin", content))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request_head(port, length=len(body), api_key=API_KEY))
        if cut:
            writer.write(body[: len(body) // 2])
            await writer.drain()
            return None
        writer.write(body)
        await writer.drain()
        return (await read_raw_response(reader)).status
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def test_uploads_split_over_both_hosts_never_exceed_the_quota_together(
    tmp_path: Path, postgres_url: str, shared_store: UploadBackend
) -> None:
    with two_hosts(tmp_path, postgres_url, shared_store, UPLOAD_QUOTA=str(QUOTA)) as (a, b):
        # 32 at once, 16 per host, 64 MiB for a quota of 20; every eighth client goes away.
        statuses = await asyncio.wait_for(
            asyncio.gather(
                *(
                    post_file(a if i % 2 else b, os.urandom(FILE_SIZE), cut=i % 8 == 7)
                    for i in range(32)
                )
            ),
            timeout=120,
        )
        answered = [status for status in statuses if status is not None]
        assert len(answered) == 28
        assert set(answered) <= {201, 507}, statuses
        async with a.client() as on_a, b.client() as on_b:
            stored = await listed(on_a)
            assert await listed(on_b) == stored
            assert len(stored) == answered.count(201)
            assert 1 <= len(stored) <= QUOTA // FILE_SIZE
            assert sum(entry["size"] for entry in stored) <= QUOTA
            assert sorted(shared_store.stored()) == sorted(entry["name"] for entry in stored)

            # Nothing stays reserved by the cut, refused or finished uploads: exactly the room
            # left is taken, by either host, and not a byte more.
            room = QUOTA - sum(entry["size"] for entry in stored)
            if room:
                assert await post_file(b, os.urandom(room), cut=False) == 201
            assert await post_file(a, b"x", cut=False) == 507

            # Deleting through one host gives the room back to the other.
            for entry in await listed(on_b):
                assert (await on_b.delete(entry["url"], headers=API)).status_code == 204
        assert await post_file(a, os.urandom(QUOTA), cut=False) == 201
        assert await post_file(b, b"x", cut=False) == 507


async def test_a_resumable_uploads_reservation_counts_on_the_other_host_until_released(
    tmp_path: Path, postgres_url: str, shared_store: UploadBackend
) -> None:
    with two_hosts(tmp_path, postgres_url, shared_store, UPLOAD_QUOTA=str(QUOTA)) as (a, b):
        async with a.client() as on_a:
            created = await on_a.post(
                "/files/",
                headers={
                    "X-API-Key": API_KEY,
                    "Tus-Resumable": "1.0.0",
                    "Upload-Length": str(QUOTA - MIB),
                },
            )
            assert created.status_code == 201, created.text
            location = created.headers["location"]
            # The reservation holds on host B too.
            assert await post_file(b, os.urandom(2 * MIB), cut=False) == 507
            assert await post_file(b, os.urandom(MIB), cut=False) == 201
            terminated = await on_a.delete(
                location, headers={"X-API-Key": API_KEY, "Tus-Resumable": "1.0.0"}
            )
            assert terminated.status_code == 204
        assert await post_file(b, os.urandom(QUOTA - MIB), cut=False) == 201
        assert await post_file(a, b"x", cut=False) == 507
