"""The README's phone screenshot helper (tests/console/screenshot.py) works:
it seeds a Klaxon, signs in in Chromium and saves a 390 x 844 PNG of the
incident page."""

from __future__ import annotations

from pathlib import Path

from tests.console.screenshot import PHONE_HEIGHT, png_size, take


async def test_the_phone_screenshot_is_taken(tmp_path: Path) -> None:
    target = tmp_path / "phone.png"
    await take(target)
    assert png_size(target) == (390, PHONE_HEIGHT)
    assert target.stat().st_size > 10_000  # a rendered page, not a blank frame
