"""Schedules and calendar feeds in a real headless Chromium, at a phone's width
and a desktop's: take a shift in two taps and see ``klaxon oncall`` (the CLI,
over real HTTP) agree; make the calendar link, download the feed in the
browser and parse it back with icalendar. Every page fits the width and passes
axe-core."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from app.cli import cli
from app.settings import get_settings
from tests.browser import DESKTOP_WIDTH, PHONE_WIDTH, Browser
from tests.conftest import ADMIN_TOKEN
from tests.console.test_browser import fits_the_width_and_is_accessible, sign_in_in_browser
from tests.paging import BOB, CAROL, Paging


async def klaxon_oncall(paging: Paging) -> str:
    """``klaxon oncall`` against the server under test, as admin."""
    env = {"KLAXON_URL": paging.url, "KLAXON_TOKEN": ADMIN_TOKEN}
    get_settings.cache_clear()
    try:
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["oncall"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.stdout


def row_of(table: str, schedule: str) -> list[str]:
    [line] = [line for line in table.splitlines() if line.startswith(schedule + " ")]
    return line.split()


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
async def test_take_a_shift_and_the_cli_agrees(
    paging: Paging, browser: Browser, width: int
) -> None:
    assert row_of(await klaxon_oncall(paging), "checkout-primary")[1] == "alice"
    await browser.width(width)
    await sign_in_in_browser(browser, paging, BOB)
    await browser.click('nav a[href="/schedules"]')
    await browser.wait_for(lambda d: d.current_url.endswith("/schedules"))
    await fits_the_width_and_is_accessible(browser)
    await browser.click('a[href="/schedules/checkout-primary"]')
    await browser.wait_for(lambda d: d.current_url.endswith("/schedules/checkout-primary"))
    await fits_the_width_and_is_accessible(browser)
    assert "alice is on call for" in await browser.text("#fatigue")

    await browser.click("a.take")  # tap one
    await browser.wait_for(lambda d: "/take?" in d.current_url)
    await fits_the_width_and_is_accessible(browser)
    await browser.click("#confirm-take")  # tap two
    await browser.wait_for(lambda d: "notice=taken" in d.current_url)
    assert "Shift taken" in await browser.text("p.notice")
    await fits_the_width_and_is_accessible(browser)

    row = row_of(await klaxon_oncall(paging), "checkout-primary")
    # bob, until midnight in Berlin (his zone), through the override.
    assert row[1] == "bob" and row[-1] == "override"
    assert " ".join(row[-4:-1]) == "2026-11-26 23:00 UTC"

    await browser.click('nav a[href="/oncall"]')
    await browser.wait_for(lambda d: d.current_url.endswith("/oncall"))
    shifts = await browser.find_all(".my-shift")
    assert len(shifts) >= 2  # checkout-primary (taken) and checkout-secondary
    await fits_the_width_and_is_accessible(browser)


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
async def test_download_the_calendar_and_parse_it_back(
    paging: Paging, browser: Browser, width: int
) -> None:
    await browser.width(width)
    await sign_in_in_browser(browser, paging, CAROL)
    await browser.click('nav a[href="/me/calendar"]')
    await browser.wait_for(lambda d: d.current_url.endswith("/me/calendar"))
    await fits_the_width_and_is_accessible(browser)
    await browser.click("#make-link")
    await browser.wait_for(lambda d: d.find_elements("css selector", "#feed-link") != [])
    await fits_the_width_and_is_accessible(browser)
    link = await browser.script("return document.getElementById('feed-link').value")
    path = "/calendar/" + str(link).split("/calendar/", 1)[1]
    # Downloaded by the browser itself (same origin: the page's CSP allows it).
    body = await browser.run(
        browser.driver.execute_async_script,
        "const done = arguments[arguments.length - 1];"
        " fetch(arguments[0]).then(r => r.text()).then(done, e => done('failed: ' + e));",
        path,
    )
    calendar = Calendar.from_ical(str(body))
    events = list(calendar.walk("VEVENT"))
    assert events and all(str(e["SUMMARY"]) == "on call: nights-only (night)" for e in events)
    starts = [e.decoded("DTSTART") for e in events]
    assert datetime(2026, 11, 27, 0, tzinfo=UTC) in starts

    await browser.click('nav a[href="/reports"]')
    await browser.wait_for(lambda d: d.current_url.endswith("/reports"))
    await fits_the_width_and_is_accessible(browser)
    await browser.click('nav a[href="/policies"]')
    await browser.wait_for(lambda d: d.current_url.endswith("/policies"))
    await browser.type("#pv-service", "checkout")
    await browser.click('form.filters button[type="submit"]')
    await browser.wait_for(lambda d: "service=checkout" in d.current_url)
    assert "pages alice by sms" in " ".join((await browser.text("#preview-steps")).split())
    await fits_the_width_and_is_accessible(browser)
