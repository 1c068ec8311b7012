from __future__ import annotations

from pathlib import Path

import pytest

from .porting import dedent, port_one, rules


def _port_view(tmp_path: Path, body: str) -> tuple[str, list[str]]:
    text, findings = port_one(
        tmp_path,
        f"""\
        import io

        from flask import Flask, send_file, send_from_directory

        app = Flask(__name__)


        @app.route("/")
        def view():
            {body}
        """,
    )
    return text.rpartition("\n    ")[2].rstrip("\n"), rules(findings)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            'return send_file(path, download_name="a.txt", as_attachment=True)',
            'return await send_file(path, attachment_filename="a.txt", as_attachment=True, '
            "conditional=True)",
        ),
        (
            "return send_file(path, max_age=60, etag=False, conditional=False)",
            "return await send_file(path, cache_timeout=60, add_etags=False, conditional=False)",
        ),
        (
            'return send_file(buffer, "text/csv", True, "a.csv", False, True, None, 10)',
            'return await send_file(buffer, "text/csv", True, "a.csv", conditional=False, '
            "add_etags=True, last_modified=None, cache_timeout=10)",
        ),
        (
            'return send_from_directory("files", name, download_name="b.txt", max_age=5)',
            'return await send_from_directory("files", name, attachment_filename="b.txt", '
            "cache_timeout=5)",
        ),
        (
            'return send_from_directory("files", name)',
            'return await send_from_directory("files", name)',
        ),
    ],
)
def test_send_file_takes_quarts_names_and_flasks_conditional_default(
    tmp_path: Path, before: str, after: str
) -> None:
    assert _port_view(tmp_path, before) == (after, [])


def test_a_call_laid_out_one_argument_per_line_stays_so(tmp_path: Path) -> None:
    text, _ = port_one(
        tmp_path,
        """\
        from flask import send_file


        def download(buffer):
            return send_file(
                buffer,
                download_name="report.csv",
            )
        """,
    )
    assert text.endswith(
        dedent(
            """\
            async def download(buffer):
                return await send_file(
                    buffer,
                    attachment_filename="report.csv",
                    conditional=True,
                )
            """
        )
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('return send_file(path, etag="v1")', "cannot send a given ETag"),
        ("return send_file(path, max_age=lambda name: 60)", "not a function"),
        ('return send_file(open(path, "rb"), mimetype="text/plain")', "not an open file"),
    ],
)
def test_what_quarts_send_file_cannot_take_is_reported_and_left(
    tmp_path: Path, body: str, message: str
) -> None:
    text, findings = port_one(
        tmp_path,
        f"""\
        from flask import send_file


        def download(path):
            {body}
        """,
    )
    assert f"return await {body.removeprefix('return ')}" in text
    [finding] = [finding for finding in findings if finding.rule != "blocking-io"]
    assert finding.rule == "send-file"
    assert message in finding.message
