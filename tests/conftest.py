"""Fixtures: a fresh app per test with its own database and uploads folder."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from quart_app import create_app
from quart_app.users_store import UserStore

from .support.app_settings import DEMO_PASSWORD, app_config, server_env
from .support.live_server import hypercorn_server
from .support.postgres import MISSING_MESSAGE, PostgresServer, postgres_binaries, running_postgres
from .support.seaweedfs import SeaweedFS, running_seaweedfs, s3_client
from .support.upload_backends import BACKEND_PARAMS, UploadBackend, upload_backend_for

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Suites that run long, marked here so that `make test-quick` can leave them out whoever adds to
# them: each folder's tests get its marker.
_SUITE_MARKERS = {"browser": "browser", "flask2quart": "slow", "parity": "slow"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of a long suite (see _SUITE_MARKERS)."""
    tests_folder = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(tests_folder):
            suite = item.path.relative_to(tests_folder).parts[0]
            if suite in _SUITE_MARKERS:
                item.add_marker(_SUITE_MARKERS[suite])


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the demo users, made once: each copy saves hashing three passwords."""
    path = tmp_path_factory.mktemp("demo-database") / "users.sqlite3"

    async def seed() -> None:
        store = UserStore(path)
        await store.open()
        try:
            await store.seed_demo_users(DEMO_PASSWORD)
        finally:
            await store.close()

    asyncio.run(seed())
    return path


@pytest.fixture
def uploads_dir(tmp_path: Path) -> Path:
    """The app's uploads folder."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


@pytest.fixture
async def app(tmp_path: Path, uploads_dir: Path, demo_database: Path) -> AsyncIterator[Quart]:
    """A started app with demo users."""
    shutil.copyfile(demo_database, tmp_path / "users.sqlite3")
    application = create_app(app_config(tmp_path))
    async with application.test_app():
        yield application


@pytest.fixture
def client(app: Quart) -> TestClientProtocol:
    """A test client for `app`."""
    return app.test_client()


@pytest.fixture
def live_server(tmp_path: Path, demo_database: Path) -> Iterator[str]:
    """The app under real Hypercorn on a free loopback port; yields its base URL."""
    shutil.copyfile(demo_database, tmp_path / "users.sqlite3")
    with hypercorn_server(server_env(tmp_path)) as base_url:
        yield base_url


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs mounted on the uploads folder."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the simulated full disk is tested elsewhere")
    folder = tmp_path / "uploads"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine refuses a tmpfs mount ({mounted.stderr.strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[SeaweedFS]:
    """One SeaweedFS server with S3 and a bucket for the whole run (a start takes seconds)."""
    with running_seaweedfs() as store:
        yield store


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run, from Debian's binaries; skips when they are
    missing."""
    if postgres_binaries() is None:
        pytest.skip(MISSING_MESSAGE)
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres: PostgresServer, request: pytest.FixtureRequest) -> str:
    """The URL of an empty database of this test's own on the session's PostgreSQL server."""
    return postgres.fresh_database(request.node.name)


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.slow)]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each kind the app runs on, as its URL: a SQLite file in the
    test's folder, or a database of the test's own on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'users.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.fresh_database(request.node.name)


@pytest.fixture
async def app_on_each_database(
    tmp_path: Path, uploads_dir: Path, database_url: str, demo_database: Path
) -> AsyncIterator[Quart]:
    """A started app with demo users, its users in `database_url` (SQLite, then PostgreSQL)."""
    if database_url.startswith("sqlite:///"):
        # A copy of the seeded file spares hashing the demo passwords again.
        shutil.copyfile(demo_database, database_url.removeprefix("sqlite:///"))
    application = create_app(app_config(tmp_path, DATABASE_URL=database_url))
    async with application.test_app():
        yield application


@pytest.fixture(params=BACKEND_PARAMS)
def upload_backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> UploadBackend:
    """Each upload store in turn: the local folder, then S3 on the session's SeaweedFS."""
    return upload_backend_for(request.param, tmp_path / "uploads", request, monkeypatch)


@pytest.fixture
def seaweedfs_s3(seaweedfs: SeaweedFS) -> S3Client:
    """A boto3 S3 client signed with `seaweedfs`'s access key."""
    return s3_client(seaweedfs)
