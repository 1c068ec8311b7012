from __future__ import annotations

from quart import Quart, render_template_string

from quart_app.template_filters import iso_timestamp, shown_name, utc_minute


def test_timestamps_are_written_in_utc() -> None:
    assert utc_minute(1_700_000_000.9) == "2023-11-14 22:13 UTC"
    assert iso_timestamp(1_700_000_000.9) == "2023-11-14T22:13:20+00:00"


async def test_templates_can_use_the_filters(app: Quart) -> None:
    async with app.test_request_context("/"):
        written = await render_template_string("{{ 0|utc_minute }} {{ 0|iso_timestamp }}")
    assert written == "1970-01-01 00:00 UTC 1970-01-01T00:00:00+00:00"


def test_invisible_characters_in_names_are_made_visible() -> None:
    assert shown_name("invoice\u202etxt.exe") == "invoice[U+202E]txt.exe"
    assert shown_name("a\u200bb\u2028c\x07") == "a[U+200B]b[U+2028]c[U+0007]"
    assert shown_name("Ünïcödé 名前.txt") == "Ünïcödé 名前.txt"
