"""/status in a real headless Chromium, at a phone's width and a desktop's: it
fits without sideways scrolling, axe-core finds no WCAG 2 A/AA violation, it
runs no script and asks nothing of any other host, and hostile public text
stays text."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.clock import ManualClock
from tests.browser import DESKTOP_WIDTH, PHONE_WIDTH, Browser
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import serve_paging
from tests.statuspage.conftest import public_update, publish, report

HOSTILE_NAME = "<script>window.pwned='name'</script>Slow checkout"
HOSTILE_BODY = "<img src=x onerror=\"window.pwned='body'\"> \u202eLooking into it"


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
async def test_status_page_fits_is_accessible_runs_no_script_and_stays_on_its_host(
    db: str,
    fake_twilio: FakeTwilio,
    clock: ManualClock,
    status_rules: Path,
    browser: Browser,
    width: int,
) -> None:
    async with serve_paging(db, fake_twilio, clock, config=status_rules) as paging:
        active = await report(paging.api)
        await publish(
            paging.api,
            active,
            name=HOSTILE_NAME,
            body=HOSTILE_BODY,
            components={"checkout": "major_outage", "payments": "partial_outage"},
        )
        past = await report(paging.api, service="storage")
        await publish(
            paging.api, past, name="Slow uploads", components={"storage": "partial_outage"}
        )
        await public_update(paging.api, past, "resolved", "Uploads are fast again.")

        await browser.width(width)
        await browser.get(f"{paging.url}/status")
        assert await browser.text("h1") == "Example Status"
        assert await browser.text("#overall") == "Major System Outage"
        # Hostile text is text: no script ran, no image was made of it.
        assert await browser.script("return window.pwned === undefined")
        assert await browser.text(".incident h3") == HOSTILE_NAME
        assert "<img src=x" in await browser.text(".incident .body")
        assert await browser.find_all("main img") == []
        assert await browser.script("return document.scripts.length") == 0
        # Three components, each with 90 days of bars.
        assert len(await browser.find_all(".component svg.bars")) == 3
        bars = await browser.script(
            "return Array.from(document.querySelectorAll('svg.bars'), s => s.children.length)"
        )
        assert bars == [90, 90, 90]
        assert "Slow uploads" in await browser.text("section[aria-labelledby=past]")
        # Everything the page loaded came from its own origin: the stylesheet, and
        # the favicon Chromium asks for by itself.
        loaded = await browser.script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert f"{paging.url}/status/style.css" in loaded
        assert all(url.startswith(paging.url + "/") for url in loaded), loaded
        colour = await browser.script(
            "return getComputedStyle(document.querySelector('#overall')).backgroundColor"
        )
        assert colour not in ("", "rgba(0, 0, 0, 0)"), "the stylesheet applied"
        overflow = await browser.script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{overflow} px wider than the {width} px window"
        assert await browser.accessibility_violations() == []
