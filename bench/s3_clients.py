"""S3 client libraries measured against each other, writing to a real SeaweedFS on loopback.

Run from the repository root:

    .venv/bin/python -m bench.s3_clients
    .venv/bin/python -m bench.s3_clients --variants aiobotocore-unsigned,obstore-unsigned
    .venv/bin/python -m bench.s3_clients --runs 3      # each variant three times, then medians

Each variant (a library and its settings) gets a freshly started SeaweedFS and a forked client
process, which writes, as multipart uploads with several parts in flight per file:

- burst: FILES concurrent files of FILE_MIB MiB, in BURST_PART_MIB MiB parts;
- big: one BIG_MIB MiB file, in BIG_PART_MIB MiB parts.

Figures: MB/s (1e6 bytes), the client process's CPU seconds per GB, SeaweedFS's process tree
CPU seconds per GB, and the growth of the client's RSS over its settled baseline. Every part is
made in memory when it is about to be sent (distinct contents: bench.load.payload), so that what
is held is what the library holds. Then what each library can do that the S3 backend needs is
tried for real. Results go to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import statistics
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Literal

import boto3
import httpx
import obstore
import uvloop
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError
from obstore.store import S3Store

from tests.support.seaweedfs import SeaweedFS, running_seaweedfs, s3_client

from .load import child, payload, sha256_hex
from .process_tree import MemorySampler, own_cpu_seconds, process_tree, settle_rss
from .process_tree import tree_cpu_seconds as tree_cpu
from .report import MISSING, table
from .servers import ROOT

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef
    from obstore.store import S3Config
    from types_aiobotocore_s3 import S3Client as AioS3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef as AioCompletedPartTypeDef

MIB = 1024 * 1024
FILES = 64
FILE_MIB = 8
BURST_PART_MIB = 5
BIG_MIB = 1024
BIG_PART_MIB = 8
PARTS_IN_FLIGHT = 4
PHASE_SECONDS = 300.0
# Every client's connection pool holds as many connections as the burst has parts in flight.
POOL = FILES * PARTS_IN_FLIGHT

Checksum = Literal["default", "none", "sha256"]


@dataclass(frozen=True)
class Variant:
    """A library with its settings: payload signing and the checksum sent with each part."""

    library: Literal["boto3", "aiobotocore", "obstore"]
    signed_payload: bool
    checksum: Checksum
    description: str


VARIANTS = {
    "boto3-defaults": Variant("boto3", True, "default", "SigV4 SHA-256 of each part, CRC32"),
    "boto3-unsigned": Variant("boto3", False, "default", "UNSIGNED-PAYLOAD, CRC32"),
    "boto3-unsigned-sha256": Variant("boto3", False, "sha256", "UNSIGNED-PAYLOAD, SHA-256"),
    "boto3-bare": Variant("boto3", False, "none", "UNSIGNED-PAYLOAD, no checksum"),
    "aiobotocore-defaults": Variant("aiobotocore", True, "default", "SigV4 SHA-256, CRC32"),
    "aiobotocore-unsigned": Variant("aiobotocore", False, "default", "UNSIGNED-PAYLOAD, CRC32"),
    "aiobotocore-unsigned-sha256": Variant(
        "aiobotocore", False, "sha256", "UNSIGNED-PAYLOAD, SHA-256"
    ),
    "aiobotocore-bare": Variant("aiobotocore", False, "none", "UNSIGNED-PAYLOAD, no checksum"),
    "obstore-defaults": Variant("obstore", True, "none", "SigV4 SHA-256 of each part"),
    "obstore-unsigned": Variant("obstore", False, "none", "UNSIGNED-PAYLOAD, no checksum"),
    "obstore-unsigned-sha256": Variant("obstore", False, "sha256", "UNSIGNED-PAYLOAD, SHA-256"),
}


@dataclass(frozen=True)
class FileSpec:
    """One file to write: its key, its number (which makes its contents distinct), its sizes."""

    key: str
    index: int
    size: int
    part_size: int

    def parts(self) -> list[tuple[int, int]]:
        """(part number, length) of each part."""
        count = -(-self.size // self.part_size)
        last = self.size - (count - 1) * self.part_size
        return [(n, self.part_size if n < count else last) for n in range(1, count + 1)]

    def part(self, number: int, length: int, block: bytes) -> bytes:
        """Part ``number``'s bytes: distinct per file and part."""
        return payload(self.index * 100_000 + number, length, block)


def phase_files(variant: str, phase: str) -> list[FileSpec]:
    """The files a phase writes."""
    if phase == "burst":
        return [
            FileSpec(f"bench/{variant}/burst/{i}", i, FILE_MIB * MIB, BURST_PART_MIB * MIB)
            for i in range(FILES)
        ]
    return [FileSpec(f"bench/{variant}/big", 1000, BIG_MIB * MIB, BIG_PART_MIB * MIB)]


def _b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _botocore_settings(variant: Variant) -> dict[str, Any]:
    """Config arguments shared by boto3 and aiobotocore."""
    s3: dict[str, Any] = {"addressing_style": "path"}
    if not variant.signed_payload:
        # Over http botocore signs (hashes) every body unless told not to, explicitly.
        s3["payload_signing_enabled"] = False
    return {
        "s3": s3,
        "max_pool_connections": POOL,
        "retries": {"max_attempts": 1},
        # botocore >= 1.36 adds a CRC32 to every part unless this says "when_required".
        "request_checksum_calculation": "when_required"
        if variant.checksum == "none"
        else "when_supported",
    }


def _checksum_args(variant: Variant) -> dict[str, Any]:
    return {"ChecksumAlgorithm": "SHA256"} if variant.checksum == "sha256" else {}


def _completed_part(number: int, answer: Mapping[str, Any]) -> CompletedPartTypeDef:
    """What CompleteMultipartUpload needs of an UploadPart's answer."""
    done: CompletedPartTypeDef = {"PartNumber": number, "ETag": answer["ETag"]}
    if "ChecksumSHA256" in answer:
        done["ChecksumSHA256"] = answer["ChecksumSHA256"]
    return done


# An uploader writes a phase's files; it lives across the phases of one client process.
Uploader = Callable[[list[FileSpec]], None]


def _boto3_file(
    client: S3Client, store: SeaweedFS, variant: Variant, spec: FileSpec, block: bytes
) -> None:
    checksum = _checksum_args(variant)
    upload_id = client.create_multipart_upload(Bucket=store.bucket, Key=spec.key, **checksum)[
        "UploadId"
    ]

    def send(part: tuple[int, int]) -> CompletedPartTypeDef:
        number, length = part
        answer = client.upload_part(
            Bucket=store.bucket,
            Key=spec.key,
            UploadId=upload_id,
            PartNumber=number,
            Body=spec.part(number, length, block),
            **checksum,
        )
        return _completed_part(number, answer)

    try:
        with ThreadPoolExecutor(PARTS_IN_FLIGHT) as parts:
            completed = list(parts.map(send, spec.parts()))
        client.complete_multipart_upload(
            Bucket=store.bucket,
            Key=spec.key,
            UploadId=upload_id,
            MultipartUpload={"Parts": completed},
        )
    except BaseException:
        client.abort_multipart_upload(Bucket=store.bucket, Key=spec.key, UploadId=upload_id)
        raise


@contextmanager
def _boto3_uploader(store: SeaweedFS, variant: Variant, block: bytes) -> Iterator[Uploader]:
    client = boto3.client(
        "s3",
        endpoint_url=store.endpoint_url,
        region_name=store.region,
        aws_access_key_id=store.access_key,
        aws_secret_access_key=store.secret_key,
        config=Config(**_botocore_settings(variant)),
    )

    def upload(files: list[FileSpec]) -> None:
        with ThreadPoolExecutor(len(files)) as pool:
            for future in [
                pool.submit(_boto3_file, client, store, variant, spec, block) for spec in files
            ]:
                future.result()

    yield upload
    client.close()


async def _aiobotocore_file(
    client: AioS3Client, store: SeaweedFS, variant: Variant, spec: FileSpec, block: bytes
) -> None:
    checksum = _checksum_args(variant)
    created = await client.create_multipart_upload(Bucket=store.bucket, Key=spec.key, **checksum)
    upload_id = created["UploadId"]
    in_flight = asyncio.Semaphore(PARTS_IN_FLIGHT)

    async def send(number: int, length: int) -> AioCompletedPartTypeDef:
        async with in_flight:
            answer = await client.upload_part(
                Bucket=store.bucket,
                Key=spec.key,
                UploadId=upload_id,
                PartNumber=number,
                Body=spec.part(number, length, block),
                **checksum,
            )
        return _completed_part(number, answer)

    try:
        completed = await asyncio.gather(*(send(n, length) for n, length in spec.parts()))
        await client.complete_multipart_upload(
            Bucket=store.bucket,
            Key=spec.key,
            UploadId=upload_id,
            MultipartUpload={"Parts": completed},
        )
    except BaseException:
        await client.abort_multipart_upload(Bucket=store.bucket, Key=spec.key, UploadId=upload_id)
        raise


@contextmanager
def _aiobotocore_uploader(store: SeaweedFS, variant: Variant, block: bytes) -> Iterator[Uploader]:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        stack = AsyncExitStack()
        client = runner.run(
            stack.enter_async_context(
                get_session().create_client(
                    "s3",
                    endpoint_url=store.endpoint_url,
                    region_name=store.region,
                    aws_access_key_id=store.access_key,
                    aws_secret_access_key=store.secret_key,
                    config=AioConfig(**_botocore_settings(variant)),
                )
            )
        )

        async def upload_all(files: list[FileSpec]) -> None:
            await asyncio.gather(
                *(_aiobotocore_file(client, store, variant, spec, block) for spec in files)
            )

        yield lambda files: runner.run(upload_all(files))
        runner.run(stack.aclose())


def obstore_store(store: SeaweedFS, variant: Variant) -> S3Store:
    """An obstore S3Store for ``store`` with ``variant``'s settings."""
    config: S3Config = {
        "endpoint": store.endpoint_url,
        "region": store.region,
        "access_key_id": store.access_key,
        "secret_access_key": store.secret_key,
        "virtual_hosted_style_request": False,
        "unsigned_payload": not variant.signed_payload,
    }
    if variant.checksum == "sha256":
        config["checksum_algorithm"] = "sha256"
    return S3Store(
        store.bucket,
        config=config,
        client_options={"allow_http": True, "timeout": "300s"},
        retry_config={"max_retries": 0},
    )


async def _obstore_parts(spec: FileSpec, block: bytes) -> AsyncIterator[bytes]:
    for number, length in spec.parts():
        yield spec.part(number, length, block)


@contextmanager
def _obstore_uploader(store: SeaweedFS, variant: Variant, block: bytes) -> Iterator[Uploader]:
    s3 = obstore_store(store, variant)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:

        async def upload_all(files: list[FileSpec]) -> None:
            await asyncio.gather(
                *(
                    obstore.put_async(
                        s3,
                        spec.key,
                        _obstore_parts(spec, block),
                        use_multipart=True,
                        chunk_size=spec.part_size,
                        max_concurrency=PARTS_IN_FLIGHT,
                    )
                    for spec in files
                )
            )

        yield lambda files: runner.run(upload_all(files))


UPLOADERS = {
    "boto3": _boto3_uploader,
    "aiobotocore": _aiobotocore_uploader,
    "obstore": _obstore_uploader,
}

# (seconds, client CPU seconds, client RSS growth in bytes) of one phase.
PhaseFigures = tuple[float, float, int]


def client_process(
    name: str, store: SeaweedFS, block: bytes, phases: list[str], pipe: Connection
) -> None:
    """Write each phase's files when the parent says "go"; send back the phase's figures."""
    variant = VARIANTS[name]
    with UPLOADERS[variant.library](store, variant, block) as upload:
        # One small file first, so that imports and the first connections are not measured.
        upload([FileSpec(f"bench/{name}/warm", 999_999, 6 * MIB, 5 * MIB)])
        pipe.send("ready")
        for phase in phases:
            files = phase_files(name, phase)
            baseline = settle_rss([os.getpid()])
            pipe.recv()
            cpu, started = own_cpu_seconds(), time.perf_counter()
            try:
                with MemorySampler([os.getpid()]) as memory:
                    upload(files)
            except Exception as error:
                pipe.send(f"{type(error).__name__}: {error}")
                return
            figures: PhaseFigures = (
                time.perf_counter() - started,
                own_cpu_seconds() - cpu,
                memory.peak - baseline,
            )
            pipe.send(figures)


@dataclass
class ClientResult:
    """One variant's figures."""

    variant: str
    settings: str
    start_s: float | None = None
    burst_mb_s: float | None = None
    burst_client_cpu: float | None = None
    burst_server_cpu: float | None = None
    burst_rss_mib: float | None = None
    burst_ok: str | None = None
    big_mb_s: float | None = None
    big_client_cpu: float | None = None
    big_server_cpu: float | None = None
    big_rss_mib: float | None = None
    big_ok: str | None = None
    notes: list[str] = field(default_factory=list)


COLUMNS = [
    ("variant", "variant", "{}"),
    ("settings", "settings", "{}"),
    ("burst_mb_s", "burst MB/s", "{:.0f}"),
    ("burst_client_cpu", "client CPU-s/GB", "{:.2f}"),
    ("burst_server_cpu", "weed CPU-s/GB", "{:.2f}"),
    ("burst_rss_mib", "client +MiB", "{:.0f}"),
    ("burst_ok", "ok", "{}"),
    ("big_mb_s", "1G MB/s", "{:.0f}"),
    ("big_client_cpu", "1G client CPU-s/GB", "{:.2f}"),
    ("big_server_cpu", "1G weed CPU-s/GB", "{:.2f}"),
    ("big_rss_mib", "1G client +MiB", "{:.0f}"),
    ("big_ok", "1G ok", "{}"),
]


def check_objects(client: S3Client, store: SeaweedFS, files: list[FileSpec], block: bytes) -> str:
    """How many objects exist with the right size and part count; the first is read back and
    compared whole."""
    good = 0
    for spec in files:
        try:
            head = client.head_object(Bucket=store.bucket, Key=spec.key)
        except ClientError:
            continue
        parts = spec.parts()
        good += head["ContentLength"] == spec.size and head["ETag"].endswith(f'-{len(parts)}"')
    first = files[0]
    with suppress(ClientError):
        body = client.get_object(Bucket=store.bucket, Key=first.key)["Body"].read()
        sent = sha256_hex(*(first.part(n, length, block) for n, length in first.parts()))
        if sha256_hex(body) != sent:
            good -= 1
    return f"{good}/{len(files)}"


def run_variant(name: str, phases: list[str], block: bytes) -> ClientResult:
    """Start SeaweedFS, let a client process write the phases; the variant's figures."""
    variant = VARIANTS[name]
    result = ClientResult(name, variant.description)
    with running_seaweedfs() as store:
        result.start_s = store.start_seconds
        checker = s3_client(store)
        weed = process_tree(store.process.pid)
        with child(client_process, name, store, block, phases) as pipe:
            for phase in phases:
                files = phase_files(name, phase)
                sent_gb = sum(spec.size for spec in files) / 1e9
                server_cpu = tree_cpu(weed)
                pipe.send("go")
                if not pipe.poll(PHASE_SECONDS):
                    raise RuntimeError(f"{name} {phase} did not finish in {PHASE_SECONDS}s")
                answer = pipe.recv()
                server_cpu = tree_cpu(weed) - server_cpu
                if isinstance(answer, str):
                    result.notes.append(f"{phase}: {answer}")
                    break
                seconds, client_cpu, rss = answer
                prefix = "burst" if phase == "burst" else "big"
                setattr(result, f"{prefix}_mb_s", sent_gb * 1000 / seconds)
                setattr(result, f"{prefix}_client_cpu", client_cpu / sent_gb)
                setattr(result, f"{prefix}_server_cpu", server_cpu / sent_gb)
                setattr(result, f"{prefix}_rss_mib", rss / MIB)
                setattr(result, f"{prefix}_ok", check_objects(checker, store, files, block))
    return result


def median_result(name: str, results: list[ClientResult]) -> ClientResult:
    """The median of each of ``name``'s figures over its runs; the checked objects totalled."""
    mine = [result for result in results if result.variant == name]
    median = ClientResult(name, mine[0].settings)
    for spec in fields(ClientResult):
        values = [getattr(result, spec.name) for result in mine]
        present = [value for value in values if value is not None]
        if spec.name in {"variant", "settings", "notes"} or not present:
            continue
        if spec.name.endswith("_ok"):
            passed, counted = zip(*(value.split("/") for value in present), strict=True)
            setattr(median, spec.name, f"{sum(map(int, passed))}/{sum(map(int, counted))}")
        else:
            setattr(median, spec.name, statistics.median(present))
    return median


# What the S3 backend needs from a library, tried against SeaweedFS.
CAPABILITIES = (
    "abort",
    "list uploads",
    "user metadata",
    "metadata after completion",
    "part SHA-256",
    "presign GET",
)


def _presigned_get_works(url: str) -> str:
    return "yes" if httpx.get(url).content == b"capabilities" else "no"


async def botocore_capabilities(store: SeaweedFS) -> dict[str, str]:
    """aiobotocore's (and so boto3's: the same botocore operations) capabilities."""
    async with get_session().create_client(
        "s3",
        endpoint_url=store.endpoint_url,
        region_name=store.region,
        aws_access_key_id=store.access_key,
        aws_secret_access_key=store.secret_key,
        config=AioConfig(s3={"addressing_style": "path"}),
    ) as client:
        key = "capabilities/aiobotocore"
        data = b"capabilities"
        created = await client.create_multipart_upload(
            Bucket=store.bucket, Key=key, ChecksumAlgorithm="SHA256", Metadata={"sha256": "x"}
        )
        part = await client.upload_part(
            Bucket=store.bucket,
            Key=key,
            UploadId=created["UploadId"],
            PartNumber=1,
            Body=data,
            ChecksumSHA256=_b64_sha256(data),
        )
        listed = await client.list_multipart_uploads(Bucket=store.bucket, Prefix=key)
        found = [u.get("UploadId") for u in listed.get("Uploads", [])]
        await client.abort_multipart_upload(
            Bucket=store.bucket, Key=key, UploadId=created["UploadId"]
        )
        after = await client.list_multipart_uploads(Bucket=store.bucket, Prefix=key)
        await client.put_object(Bucket=store.bucket, Key=key, Body=data, Metadata={"a": "b"})
        head = await client.head_object(Bucket=store.bucket, Key=key)
        await client.copy_object(
            Bucket=store.bucket,
            Key=key,
            CopySource={"Bucket": store.bucket, "Key": key},
            Metadata={"sha256": "later"},
            MetadataDirective="REPLACE",
        )
        later = await client.head_object(Bucket=store.bucket, Key=key)
        url = await client.generate_presigned_url(
            "get_object", Params={"Bucket": store.bucket, "Key": key}, ExpiresIn=60
        )
        return {
            "abort": "yes" if not after.get("Uploads") else "no",
            "list uploads": "yes" if found == [created["UploadId"]] else "no",
            "user metadata": "yes" if head["Metadata"] == {"a": "b"} else "no",
            "metadata after completion": "yes (CopyObject onto itself)"
            if later["Metadata"] == {"sha256": "later"}
            else "no",
            "part SHA-256": "yes" if part.get("ChecksumSHA256") == _b64_sha256(data) else "no",
            "presign GET": _presigned_get_works(url),
        }


async def _failing_parts(block: bytes) -> AsyncIterator[bytes]:
    yield block[: 5 * MIB]
    yield block[: 5 * MIB]
    raise OSError("the client went away")


async def obstore_capabilities(store: SeaweedFS) -> dict[str, str]:
    """obstore's capabilities: what its API offers, checked with boto3 where it has no reader."""
    checker = s3_client(store)
    s3 = obstore_store(store, VARIANTS["obstore-unsigned-sha256"])
    key = "capabilities/obstore"
    data = b"capabilities"
    await obstore.put_async(s3, key, data, attributes={"sha256": "x"})
    head = checker.head_object(Bucket=store.bucket, Key=key, ChecksumMode="ENABLED")
    url = await obstore.sign_async(s3, "GET", key, timedelta(seconds=60))
    # put_async has no abort of its own: does a failing stream leave its upload behind?
    failed = "capabilities/obstore-failed"
    with suppress(OSError):
        await obstore.put_async(
            s3, failed, _failing_parts(os.urandom(5 * MIB)), use_multipart=True
        )
    left = checker.list_multipart_uploads(Bucket=store.bucket, Prefix=failed).get("Uploads", [])
    return {
        "abort": "on a failed put only (no API)" if not left else "no: a failed put leaves it",
        "list uploads": "no API",
        "user metadata": "yes (attributes, at the start)"
        if head["Metadata"] == {"sha256": "x"}
        else f"no ({head['Metadata']})",
        "metadata after completion": "no API",
        "part SHA-256": "yes (config)" if head.get("ChecksumSHA256") else "no",
        "presign GET": _presigned_get_works(url),
    }


def capabilities() -> dict[str, dict[str, str]]:
    """Each library's capabilities, tried against one SeaweedFS."""
    with running_seaweedfs() as store:
        botocore = uvloop.run(botocore_capabilities(store))
        return {
            "boto3, aiobotocore": botocore,
            "obstore": uvloop.run(obstore_capabilities(store)),
        }


def capability_table(found: dict[str, dict[str, str]]) -> str:
    """A Markdown table: one row per library, one column per capability."""
    lines = ["| library | " + " | ".join(CAPABILITIES) + " |"]
    lines.append("|" + "---|" * (len(CAPABILITIES) + 1))
    for library, answers in found.items():
        cells = [answers.get(name, MISSING) for name in CAPABILITIES]
        lines.append(f"| {library} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Measure the chosen variants, then the libraries' capabilities; print and save."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--phases", default="burst,big")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    names = [name for name in args.variants.split(",") if name]
    phases = [phase for phase in args.phases.split(",") if phase]
    unknown = set(names) - set(VARIANTS) or set(phases) - {"burst", "big"}
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    block = os.urandom(max(BURST_PART_MIB, BIG_PART_MIB) * MIB)
    results = []
    # Round after round of every variant, so that what else the machine does falls on each.
    for run in range(1, args.runs + 1):
        for name in names:
            print(f"run {run}: {name} ...", flush=True)
            results.append(run_variant(name, phases, block))
    found = capabilities()
    print()
    print(table(results, COLUMNS))
    if args.runs > 1:
        medians = [median_result(name, results) for name in names]
        print(f"\nMedians over {args.runs} runs (ok: totals):\n")
        print(table(medians, COLUMNS))
    for result in results:
        for note in result.notes:
            print(f"  {result.variant}: {note}")
    starts = [r.start_s for r in results if r.start_s is not None]
    if starts:
        print(f"\nSeaweedFS start (to bucket created): {min(starts):.1f}-{max(starts):.1f} s")
    print()
    print(capability_table(found))
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results_dir / f"s3_clients-{stamp}.json").write_text(
        json.dumps({"results": [asdict(r) for r in results], "capabilities": found}, indent=2)
    )


if __name__ == "__main__":
    main()
