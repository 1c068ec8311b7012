from __future__ import annotations

import pytest
from quart import Quart, render_template_string

from quart_app.template_filters import human_size, iso_timestamp, utc_minute


@pytest.mark.parametrize(
    ("size", "written"),
    [
        (0, "0 bytes"),
        (999, "999 bytes"),
        (1000, "1 kB"),
        (2_240, "2.2 kB"),
        (1_400_000, "1.4 MB"),
        (4 * 1000**3, "4 GB"),
        (7 * 1000**5, "7000 TB"),
    ],
)
def test_human_size_uses_decimal_units_like_the_upload_script(size: int, written: str) -> None:
    assert human_size(size) == written


def test_timestamps_are_written_in_utc() -> None:
    assert utc_minute(1_700_000_000.9) == "2023-11-14 22:13 UTC"
    assert iso_timestamp(1_700_000_000.9) == "2023-11-14T22:13:20+00:00"


async def test_templates_can_use_the_filters(app: Quart) -> None:
    async with app.test_request_context("/"):
        written = await render_template_string("{{ 2240|human_size }} {{ 0|utc_minute }}")
    assert written == "2.2 kB 1970-01-01 00:00 UTC"
