"""The upload stores a test can run against: the local folder, S3 on a real SeaweedFS, or S3 with
the quota's ledger in PostgreSQL (as several hosts run).

A test that takes the `upload_backend` fixture runs once per store; what it checks of the
store (what is published, what is still being received) it asks the backend, never the folder.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .app_settings import server_env
from .seaweedfs import SeaweedFS, s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass
class UploadBackend:
    """One store's settings for an app (and its process environment), and what it holds."""

    name: str
    uploads: Path
    seaweedfs: SeaweedFS | None = None
    prefix: str = ""
    database_url: str | None = None
    _client: S3Client | None = field(default=None, repr=False)

    @classmethod
    def local(cls, uploads: Path) -> UploadBackend:
        """The default store: files in ``uploads``."""
        return cls("local", uploads)

    @classmethod
    def s3(
        cls, uploads: Path, seaweedfs: SeaweedFS, *, database_url: str | None = None
    ) -> UploadBackend:
        """The S3 store on ``seaweedfs``, under a prefix of its own; with ``database_url``
        (PostgreSQL), its quota's ledger in that database."""
        prefix = f"test-{secrets.token_hex(6)}/"
        name = "s3-postgresql" if database_url else "s3"
        return cls(name, uploads, seaweedfs, prefix, database_url, s3_client(seaweedfs))

    @property
    def settings(self) -> dict[str, Any]:
        """The app's settings for this store (beside UPLOAD_FOLDER = ``uploads``)."""
        if self.seaweedfs is None:
            return {"UPLOAD_STORAGE": "local"}
        database = {"DATABASE_URL": self.database_url} if self.database_url else {}
        return {
            **database,
            "UPLOAD_STORAGE": "s3",
            "S3_ENDPOINT_URL": self.seaweedfs.endpoint_url,
            "S3_BUCKET": self.seaweedfs.bucket,
            "S3_PREFIX": self.prefix,
            "S3_REGION": self.seaweedfs.region,
            # Small parts, so that tests of a few MiB span several.
            "S3_PART_SIZE": 5 * 1024 * 1024,
            "S3_BUFFER_TOTAL": 20 * 1024 * 1024,
        }

    @property
    def env(self) -> dict[str, str]:
        """The process environment the store's credentials come from."""
        if self.seaweedfs is None:
            return {}
        return {
            "AWS_ACCESS_KEY_ID": self.seaweedfs.access_key,
            "AWS_SECRET_ACCESS_KEY": self.seaweedfs.secret_key,
        }

    def server_env(self, tmp_path: Path, **overrides: str) -> dict[str, str]:
        """A served app's environment: the test configuration in ``tmp_path`` with this
        store's settings (and ``overrides``), and the store's credentials."""
        settings = {key: str(value) for key, value in self.settings.items()}
        return {**server_env(tmp_path, **settings, **overrides), **self.env}

    def stored(self) -> list[str]:
        """The names of the published files."""
        if self._client is None or self.seaweedfs is None:
            return sorted(path.name for path in self.uploads.iterdir() if path.is_file())
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.seaweedfs.bucket, Prefix=self.prefix
        )
        names = [
            item["Key"].removeprefix(self.prefix)
            for page in pages
            for item in page.get("Contents", [])
        ]
        # The store keeps each file's record under .meta/ beside it.
        return sorted(name for name in names if "/" not in name)

    def content(self, name: str) -> bytes:
        """What the published file ``name`` holds."""
        if self._client is None or self.seaweedfs is None:
            return (self.uploads / name).read_bytes()
        answer = self._client.get_object(Bucket=self.seaweedfs.bucket, Key=self.prefix + name)
        return answer["Body"].read()

    def in_progress(self) -> list[str]:
        """What is being received and not yet published or dropped: temp files, or the
        store's unfinished multipart uploads."""
        if self._client is None or self.seaweedfs is None:
            return sorted(path.name for path in (self.uploads / ".tmp").glob("*.part"))
        answer = self._client.list_multipart_uploads(
            Bucket=self.seaweedfs.bucket, Prefix=self.prefix
        )
        return sorted(upload["Key"] for upload in answer.get("Uploads", []))


def upload_backend_for(
    name: str, uploads: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> UploadBackend:
    """The backend called ``name`` for a test; an S3 one has its credentials in this
    process's environment (for apps served in it) and starts the session's SeaweedFS."""
    if name == "local":
        return UploadBackend.local(uploads)
    database_url = None
    if name == "s3-postgresql":
        database_url = request.getfixturevalue("postgres").fresh_database(request.node.name)
    backend = UploadBackend.s3(
        uploads, request.getfixturevalue("seaweedfs"), database_url=database_url
    )
    for variable, value in backend.env.items():
        monkeypatch.setenv(variable, value)
    return backend


# Each backend as a fixture parameter; S3's runs are left out of `make test-quick`.
BACKEND_PARAMS = [
    pytest.param("local"),
    pytest.param("s3", marks=pytest.mark.slow),
    pytest.param("s3-postgresql", marks=pytest.mark.slow),
]
