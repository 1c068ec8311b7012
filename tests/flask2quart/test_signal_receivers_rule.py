from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest

from .porting import dedent, port_one

ASSERTING_TEST = """\
from flask import Flask, render_template_string, template_rendered

app = Flask(__name__)
app.config["TESTING"] = True


@app.route("/")
def index():
    return render_template_string("{{ greeting }}", greeting="{greeting}")


def test_greeting():
    def check(sender, template, context, **extra):
        \"\"\"The view passes the greeting to the template.\"\"\"
        assert context["greeting"] == "hello"

    with template_rendered.connected_to(check, app):
        app.test_client().get("/")
"""


def test_an_asserting_receiver_is_replayed_after_the_block(tmp_path: Path) -> None:
    text, findings = port_one(
        tmp_path, ASSERTING_TEST.replace("{greeting}", "hello"), name="test_signal.py"
    )
    recorder = "lambda *args, **kwargs: check_calls.append((args, kwargs))"
    assert text.endswith(
        dedent(
            f"""\
            async def test_greeting():
                def check(sender, template, context, **extra):
                    \"\"\"The view passes the greeting to the template.\"\"\"
                    assert context["greeting"] == "hello"

                check_calls = []
                with template_rendered.connected_to({recorder}, app):
                    await app.test_client().get("/")
                for args, kwargs in check_calls:
                    check(*args, **kwargs)
            """
        )
    )
    assert findings == []


@pytest.mark.parametrize(("greeting", "passes"), [("hello", True), ("goodbye", False)])
def test_the_ported_test_fails_when_the_receiver_fails(
    tmp_path: Path, greeting: str, passes: bool
) -> None:
    text, _ = port_one(
        tmp_path, ASSERTING_TEST.replace("{greeting}", greeting), name="test_signal.py"
    )
    (tmp_path / "test_signal.py").write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(
        f"ported_signal_{greeting}", tmp_path / "test_signal.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    if passes:
        asyncio.run(module.test_greeting())
    else:
        with pytest.raises(AssertionError):
            asyncio.run(module.test_greeting())


@pytest.mark.parametrize(
    ("receiver", "why"),
    [
        (
            "def check(sender, **extra):\n        assert g.user is None\n",
            "reads the request's context",
        ),
        (
            "def check(sender, **extra):\n        seen.append(sender)\n        assert sender\n",
            "does more than assert",
        ),
    ],
)
def test_receivers_that_cannot_move_are_reported(tmp_path: Path, receiver: str, why: str) -> None:
    source = f"""\
from flask import g, template_rendered


def test_page(app, client):
    seen = []

    {receiver}
    with template_rendered.connected_to(check, app):
        client.get("/")
"""
    text, findings = port_one(tmp_path, source, name="test_page.py")
    assert "with template_rendered.connected_to(check, app):" in text
    [finding] = findings
    assert finding.rule == "signal-receiver"
    assert why in finding.message


def test_an_asserting_receiver_connected_for_good_is_reported(tmp_path: Path) -> None:
    _, findings = port_one(
        tmp_path,
        """\
        from flask import message_flashed


        def test_flash(app, client):
            def check(sender, message, category):
                assert category == "error"

            message_flashed.connect(check, app)
            client.post("/")
        """,
        name="test_flash.py",
    )
    [finding] = findings
    assert finding.rule == "signal-receiver"
    assert "connected with `connect`" in finding.message


def test_a_recording_receiver_is_left_alone(tmp_path: Path) -> None:
    text, findings = port_one(
        tmp_path,
        """\
        from flask import template_rendered


        def test_page(app, client):
            recorded = []

            def record(sender, template, context, **extra):
                recorded.append(template.name)

            with template_rendered.connected_to(record, app):
                client.get("/")
            assert recorded == ["index.html"]
        """,
        name="test_page.py",
    )
    assert "with template_rendered.connected_to(record, app):\n        await client.get" in text
    assert findings == []
