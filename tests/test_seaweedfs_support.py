"""The SeaweedFS launcher gives a real, signature-checking S3 store with what the S3 backend
needs: multipart uploads that can be listed and aborted, user metadata, SHA-256 checksums and
presigned GETs."""

from __future__ import annotations

import base64
import hashlib
import tempfile
import uuid
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from botocore.exceptions import ClientError

from .support.seaweedfs import SeaweedFS, running_seaweedfs, s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

pytestmark = [pytest.mark.server, pytest.mark.slow]

MIB = 1024 * 1024


def _key(name: str) -> str:
    """A key of its own per test: the tests share one bucket."""
    return f"tests/{uuid.uuid4().hex}/{name}"


def _sha256_b64(*pieces: bytes) -> str:
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return base64.b64encode(digest.digest()).decode()


def _error_code(error: ClientError) -> tuple[str, int]:
    return (
        error.response.get("Error", {}).get("Code", ""),
        error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0),
    )


def test_put_then_get_returns_the_same_bytes(seaweedfs: SeaweedFS, seaweedfs_s3: S3Client) -> None:
    key = _key("small.bin")
    seaweedfs_s3.put_object(Bucket=seaweedfs.bucket, Key=key, Body=b"hello, object storage")
    got = seaweedfs_s3.get_object(Bucket=seaweedfs.bucket, Key=key)
    assert got["Body"].read() == b"hello, object storage"


def test_the_server_listens_on_loopback_only(seaweedfs: SeaweedFS) -> None:
    assert seaweedfs.endpoint_url.startswith("http://127.0.0.1:")
    assert seaweedfs.process.poll() is None


def test_a_wrong_secret_is_refused_with_403(seaweedfs: SeaweedFS) -> None:
    wrong = s3_client(seaweedfs, secret_key="not-" + seaweedfs.secret_key)
    with pytest.raises(ClientError) as refused:
        wrong.put_object(Bucket=seaweedfs.bucket, Key=_key("nope.bin"), Body=b"x")
    assert _error_code(refused.value) == ("SignatureDoesNotMatch", 403)


def test_user_metadata_round_trips(seaweedfs: SeaweedFS, seaweedfs_s3: S3Client) -> None:
    key = _key("meta.bin")
    digest = hashlib.sha256(b"body").hexdigest()
    seaweedfs_s3.put_object(
        Bucket=seaweedfs.bucket,
        Key=key,
        Body=b"body",
        Metadata={"sha256": digest, "filename": "report.pdf"},
    )
    head = seaweedfs_s3.head_object(Bucket=seaweedfs.bucket, Key=key)
    assert head["Metadata"] == {"sha256": digest, "filename": "report.pdf"}


def test_a_two_part_upload_exists_only_after_completion(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client
) -> None:
    key = _key("two-parts.bin")
    first, last = b"a" * (5 * MIB), b"the short last part"
    upload = seaweedfs_s3.create_multipart_upload(
        Bucket=seaweedfs.bucket, Key=key, Metadata={"sha256": "whole"}
    )
    parts: list[CompletedPartTypeDef] = []
    for number, body in enumerate((first, last), start=1):
        answer = seaweedfs_s3.upload_part(
            Bucket=seaweedfs.bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=body,
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    with pytest.raises(ClientError) as missing:
        seaweedfs_s3.head_object(Bucket=seaweedfs.bucket, Key=key)
    assert _error_code(missing.value)[1] == 404
    seaweedfs_s3.complete_multipart_upload(
        Bucket=seaweedfs.bucket,
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )
    got = seaweedfs_s3.get_object(Bucket=seaweedfs.bucket, Key=key)
    assert got["Body"].read() == first + last
    assert got["Metadata"] == {"sha256": "whole"}


def test_a_part_under_5_mib_but_the_last_is_refused_at_completion(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client
) -> None:
    key = _key("small-parts.bin")
    upload = seaweedfs_s3.create_multipart_upload(Bucket=seaweedfs.bucket, Key=key)
    parts: list[CompletedPartTypeDef] = []
    for number in (1, 2):
        answer = seaweedfs_s3.upload_part(
            Bucket=seaweedfs.bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=b"tiny",
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    with pytest.raises(ClientError) as refused:
        seaweedfs_s3.complete_multipart_upload(
            Bucket=seaweedfs.bucket,
            Key=key,
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": parts},
        )
    assert _error_code(refused.value) == ("EntityTooSmall", 400)
    seaweedfs_s3.abort_multipart_upload(
        Bucket=seaweedfs.bucket, Key=key, UploadId=upload["UploadId"]
    )


def test_uploads_in_progress_are_listed_and_aborting_removes_them(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client
) -> None:
    prefix = _key("")
    key = prefix + "stale.bin"
    upload = seaweedfs_s3.create_multipart_upload(Bucket=seaweedfs.bucket, Key=key)
    seaweedfs_s3.upload_part(
        Bucket=seaweedfs.bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"x"
    )
    listed = seaweedfs_s3.list_multipart_uploads(Bucket=seaweedfs.bucket, Prefix=prefix)
    assert [(u.get("Key"), u.get("UploadId")) for u in listed.get("Uploads", [])] == [
        (key, upload["UploadId"])
    ]
    seaweedfs_s3.abort_multipart_upload(
        Bucket=seaweedfs.bucket, Key=key, UploadId=upload["UploadId"]
    )
    listed = seaweedfs_s3.list_multipart_uploads(Bucket=seaweedfs.bucket, Prefix=prefix)
    assert listed.get("Uploads", []) == []
    with pytest.raises(ClientError) as gone:
        seaweedfs_s3.list_parts(Bucket=seaweedfs.bucket, Key=key, UploadId=upload["UploadId"])
    assert _error_code(gone.value) == ("NoSuchUpload", 404)


def test_part_sha256_checksums_are_checked_and_combined_at_completion(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client
) -> None:
    key = _key("checksummed.bin")
    first, last = b"f" * (5 * MIB), b"last"
    upload = seaweedfs_s3.create_multipart_upload(
        Bucket=seaweedfs.bucket, Key=key, ChecksumAlgorithm="SHA256"
    )
    assert upload.get("ChecksumAlgorithm") == "SHA256"
    with pytest.raises(ClientError) as refused:
        seaweedfs_s3.upload_part(
            Bucket=seaweedfs.bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=1,
            Body=first,
            ChecksumSHA256=_sha256_b64(b"something else"),
        )
    assert _error_code(refused.value) == ("BadDigest", 400)
    parts: list[CompletedPartTypeDef] = []
    for number, body in enumerate((first, last), start=1):
        answer = seaweedfs_s3.upload_part(
            Bucket=seaweedfs.bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=body,
            ChecksumSHA256=_sha256_b64(body),
        )
        assert answer.get("ChecksumSHA256") == _sha256_b64(body)
        parts.append(
            {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": _sha256_b64(body)}
        )
    done = seaweedfs_s3.complete_multipart_upload(
        Bucket=seaweedfs.bucket,
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )
    # S3's composite checksum: the SHA-256 of the parts' SHA-256s, then "-<parts>".
    composite = _sha256_b64(hashlib.sha256(first).digest(), hashlib.sha256(last).digest()) + "-2"
    assert done.get("ChecksumSHA256") == composite
    head = seaweedfs_s3.head_object(Bucket=seaweedfs.bucket, Key=key, ChecksumMode="ENABLED")
    assert head.get("ChecksumSHA256") == composite
    assert head.get("ChecksumType") == "COMPOSITE"


def test_a_wrong_sha256_on_a_single_put_is_refused(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client
) -> None:
    with pytest.raises(ClientError) as refused:
        seaweedfs_s3.put_object(
            Bucket=seaweedfs.bucket,
            Key=_key("wrong.bin"),
            Body=b"body",
            ChecksumSHA256=_sha256_b64(b"other body"),
        )
    assert _error_code(refused.value) == ("BadDigest", 400)


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_a_presigned_get_serves_the_object_and_a_tampered_one_is_refused(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client, signature_version: str
) -> None:
    key = _key("presigned.bin")
    seaweedfs_s3.put_object(Bucket=seaweedfs.bucket, Key=key, Body=b"shared")
    signer = s3_client(seaweedfs, signature_version=signature_version)
    url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": seaweedfs.bucket, "Key": key}, ExpiresIn=60
    )
    assert httpx.get(url).content == b"shared"
    other = url.replace("presigned.bin", "presigned.bix")
    assert httpx.get(other).status_code == 403


def test_a_wrong_crc32_on_a_part_is_refused(seaweedfs: SeaweedFS, seaweedfs_s3: S3Client) -> None:
    # botocore >= 1.36 sends a CRC32 with every part by default: SeaweedFS checks it.
    key = _key("crc32.bin")
    upload = seaweedfs_s3.create_multipart_upload(Bucket=seaweedfs.bucket, Key=key)
    with pytest.raises(ClientError) as refused:
        seaweedfs_s3.upload_part(
            Bucket=seaweedfs.bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=1,
            Body=b"abc",
            ChecksumCRC32=base64.b64encode(zlib.crc32(b"abd").to_bytes(4, "big")).decode(),
        )
    assert _error_code(refused.value) == ("BadDigest", 400)
    seaweedfs_s3.abort_multipart_upload(
        Bucket=seaweedfs.bucket, Key=key, UploadId=upload["UploadId"]
    )


def test_metadata_and_tags_can_be_set_after_completion(
    seaweedfs: SeaweedFS, seaweedfs_s3: S3Client
) -> None:
    # The whole file's SHA-256 is known only after its last part: it is written afterwards,
    # by copying the object onto itself (metadata only in SeaweedFS) or as a tag.
    key = _key("later.bin")
    seaweedfs_s3.put_object(Bucket=seaweedfs.bucket, Key=key, Body=b"body", Metadata={"a": "1"})
    digest = hashlib.sha256(b"body").hexdigest()
    seaweedfs_s3.copy_object(
        Bucket=seaweedfs.bucket,
        Key=key,
        CopySource={"Bucket": seaweedfs.bucket, "Key": key},
        Metadata={"sha256": digest},
        MetadataDirective="REPLACE",
    )
    seaweedfs_s3.put_object_tagging(
        Bucket=seaweedfs.bucket, Key=key, Tagging={"TagSet": [{"Key": "sha256", "Value": digest}]}
    )
    got = seaweedfs_s3.get_object(Bucket=seaweedfs.bucket, Key=key)
    assert (got["Body"].read(), got["Metadata"]) == (b"body", {"sha256": digest})
    tags = seaweedfs_s3.get_object_tagging(Bucket=seaweedfs.bucket, Key=key)["TagSet"]
    assert tags == [{"Key": "sha256", "Value": digest}]


def test_a_stopped_server_leaves_nothing_behind() -> None:
    with running_seaweedfs() as store:
        folder = store.folder
        grpc_port = int(store.endpoint_url.rsplit(":", 1)[1]) + 10000
        made = list(Path(tempfile.gettempdir()).glob(f"seaweedfs-*-grpc-{grpc_port}.sock"))
    left = list(Path(tempfile.gettempdir()).glob(f"seaweedfs-*-grpc-{grpc_port}.sock"))
    assert made, "weed makes its gRPC sockets in the temp folder (or this test is moot)"
    assert (left, folder.exists()) == ([], False)
    assert store.process.poll() is not None
