"""Single sign-on and a page's signed link in a real headless Chromium, at a
phone's width and a desktop's: each opens the console signed in, with no
sideways scroll and no axe-core violation on the pages on the way."""

from __future__ import annotations

import pytest

from app.clock import ManualClock
from tests.browser import DESKTOP_WIDTH, PHONE_WIDTH, Browser
from tests.console.test_browser import fits_the_width_and_is_accessible
from tests.console.test_links import SECRET, link_in
from tests.fakes.oidc_provider import FakeOidcProvider
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ALICE, BOB, Paging, checkout_alert, open_incident, serve_paging


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
async def test_sign_in_with_single_sign_on_in_the_browser(
    sso: tuple[Paging, FakeOidcProvider], browser: Browser, width: int
) -> None:
    paging, provider = sso
    await browser.width(width)
    await browser.get(f"{paging.url}/oncall")
    assert "/signin" in browser.url
    await fits_the_width_and_is_accessible(browser)
    await browser.click("#sso")
    await browser.wait_for(lambda d: d.current_url.endswith("/oncall"))
    assert provider.tokens_issued == 1
    assert "alice" in await browser.text("form.signout button")
    await fits_the_width_and_is_accessible(browser)
    await browser.click('nav a[href="/me"]')
    await browser.wait_for(lambda d: d.current_url.endswith("/me"))
    assert await browser.text("#my-phone") == ALICE
    await fits_the_width_and_is_accessible(browser)


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
async def test_a_pages_signed_link_opens_the_incident_in_the_browser(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, browser: Browser, width: int
) -> None:
    async with serve_paging(db, fake_twilio, clock, console_link_secret=SECRET) as paging:
        number = await open_incident(paging, checkout_alert("b1"))
        await paging.tick()
        await browser.width(width)
        await browser.get(paging.url + link_in(paging.texts_to(ALICE)[0]))
        await browser.wait_for(lambda d: d.current_url.endswith(f"/incidents/{number}"))
        assert "alice" in await browser.text("form.signout button")
        await fits_the_width_and_is_accessible(browser)
        await browser.click("#acknowledge")
        await browser.wait_for(lambda d: "notice=acknowledged" in d.current_url)
        await paging.tick(minutes=6)
        assert paging.texts_to(BOB) == []
        # The link's session ends after 30 minutes: the page asks to sign in again.
        paging.clock.advance(minutes=31)
        await browser.get(f"{paging.url}/incidents/{number}")
        assert "/signin" in browser.url
        await fits_the_width_and_is_accessible(browser)
