"""Multipart parser throughput: the engine's own parser, and what it replaced.

Run from the repository root:

    .venv/bin/python -m bench.multipart_parser
    .venv/bin/python -m bench.multipart_parser --against c3a3ddf

Each figure is MB/s of body parsed, best of --rounds, with every event consumed. Rows: the
parser in this tree; the engine's parser as of a git commit (``--against``; c3a3ddf is the last
one wrapping python-multipart); bare python-multipart with byte-counting callbacks, when it is
importable.
"""

from __future__ import annotations

import argparse
import math
import random
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

from quart_app.upload_engine import multipart_stream
from tests.support.multipart_bodies import BOUNDARY, Part, encode

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
CHUNK = 64 * 1024
MIN_ROUND_SECONDS = 0.3

Parse = Callable[[list[bytes]], int]


def random_content(size: int) -> bytes:
    """``size`` random bytes, the same on every run."""
    return random.Random(0).randbytes(size)


def crlf_heavy_content(size: int) -> bytes:
    """Binary data dense in CRLFs, dashes and boundary prefixes that are not delimiters."""
    rng = random.Random(1)
    near_misses = [
        b"\r\n",
        b"\r\n--",
        b"\r\n--" + BOUNDARY.encode()[: len(BOUNDARY) // 2],
        b"\r\n--" + BOUNDARY.encode()[:-1],
        b"\r",
        b"-",
    ]
    block = bytearray()
    while len(block) < 64 * 1024:
        block += (
            rng.choice(near_misses) if rng.random() < 0.5 else rng.randbytes(rng.randint(1, 16))
        )
    return (bytes(block) * math.ceil(size / len(block)))[:size]


def chunked(body: bytes) -> list[bytes]:
    """``body`` cut as a server hands it over, CHUNK bytes at a time."""
    return [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]


def workloads() -> dict[str, tuple[list[bytes], int]]:
    """Each workload's chunks and the number of content bytes a parser must report."""
    small = [Part(f"field-{i}", random_content(100 + i % 50), f"{i}.bin") for i in range(1000)]
    cases = {
        "one 64 MiB file": [Part("f", random_content(64 * MIB), "big.bin")],
        "one 64 MiB file, CRLF-heavy": [Part("f", crlf_heavy_content(64 * MIB), "crlf.bin")],
        "1000 small parts": small,
    }
    return {
        label: (chunked(encode(parts)), sum(len(part.content) for part in parts))
        for label, parts in cases.items()
    }


def engine_parser(module: types.ModuleType) -> Parse:
    """A parse function over a version of ``multipart_stream``; returns the content bytes seen."""

    def parse(chunks: list[bytes]) -> int:
        stream = module.MultipartStream(BOUNDARY.encode(), max_header_size=8 * 1024)
        seen = 0
        for chunk in chunks:
            for event in stream.feed(chunk):
                if isinstance(event, module.PartData):
                    seen += len(event.data)
        stream.close()
        return seen

    return parse


def engine_at(commit: str) -> Parse | None:
    """The engine's parser as of ``commit``, loaded from git beside the current one.

    None when that version needs a package that is not installed (python-multipart).
    """
    source = subprocess.run(
        ["git", "show", f"{commit}:quart_app/upload_engine/multipart_stream.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    name = f"quart_app.upload_engine._multipart_stream_{commit}"
    module = types.ModuleType(name)
    module.__package__ = "quart_app.upload_engine"
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    try:
        exec(compile(source, f"{commit}:multipart_stream.py", "exec"), module.__dict__)
    except ImportError as error:
        print(f"the engine at {commit} needs {error.name}, which is not installed: skipped")
        return None
    return engine_parser(module)


def bare_python_multipart() -> Parse | None:
    """python-multipart's parser alone, or None when it is not installed."""
    try:
        from python_multipart.multipart import MultipartParser
    except ImportError:
        return None

    def parse(chunks: list[bytes]) -> int:
        seen = 0

        def on_part_data(data: bytes, start: int, end: int) -> None:
            nonlocal seen
            seen += end - start

        parser = MultipartParser(BOUNDARY.encode(), callbacks={"on_part_data": on_part_data})
        for chunk in chunks:
            parser.write(chunk)
        parser.finalize()
        return seen

    return parse


def seconds_per_parse(parse: Parse, chunks: list[bytes], repeats: int) -> float:
    """Mean wall-clock time of ``repeats`` parses of ``chunks``."""
    started = time.perf_counter()
    for _ in range(repeats):
        parse(chunks)
    return (time.perf_counter() - started) / repeats


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--rounds", type=int, default=7)
    arguments.add_argument("--against", metavar="COMMIT", help="also time the engine at COMMIT")
    options = arguments.parse_args()

    parsers: dict[str, Parse] = {"engine (this tree)": engine_parser(multipart_stream)}
    if options.against and (old := engine_at(options.against)) is not None:
        parsers[f"engine at {options.against}"] = old
    if (bare := bare_python_multipart()) is not None:
        parsers["python-multipart, bare"] = bare
    else:
        print("python-multipart is not installed: its row is skipped")

    print(f"MB/s, best of {options.rounds} rounds, {CHUNK // 1024} KiB chunks")
    for label, (chunks, content_size) in workloads().items():
        repeats = {}
        for name, parse in parsers.items():
            if parse(chunks) != content_size:
                raise SystemExit(f"{name} reported the wrong amount of content for {label}")
            once = seconds_per_parse(parse, chunks, 1)
            repeats[name] = max(1, math.ceil(MIN_ROUND_SECONDS / once))
        best = dict.fromkeys(parsers, math.inf)
        # Rounds alternate between parsers so that other load on the machine hits them alike.
        for _ in range(options.rounds):
            for name, parse in parsers.items():
                best[name] = min(best[name], seconds_per_parse(parse, chunks, repeats[name]))
        size = sum(map(len, chunks))
        for name in parsers:
            print(f"{label:<30} {name:<28} {size / best[name] / 1e6:>10,.0f}")


if __name__ == "__main__":
    main()
