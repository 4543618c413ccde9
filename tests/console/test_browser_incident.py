"""The incident page's actions in a real headless Chromium, at a phone's width
and a desktop's, each page checked by axe-core: escalate now sends the next
step's page to the fake Twilio, a severity change shows on the timeline, and a
status update is previewed as the texts it would send before it is posted."""

from __future__ import annotations

import pytest

from tests.browser import DESKTOP_WIDTH, PHONE_WIDTH, Browser
from tests.console.test_browser import fits_the_width_and_is_accessible, sign_in_in_browser
from tests.paging import ALICE, BOB, Paging, checkout_alert, incident_detail, open_incident


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
async def test_escalate_change_severity_and_preview_an_update(
    paging: Paging, browser: Browser, width: int
) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert paging.texts_to(BOB) == []  # bob is step 2, 5 minutes away
    await browser.width(width)
    await sign_in_in_browser(browser, paging, ALICE)
    await browser.get(f"{paging.url}/incidents/{number}")
    await fits_the_width_and_is_accessible(browser)

    # Escalate now: bob's page (SMS and a call) goes out without the clock moving.
    await browser.click("#escalate")
    await browser.wait_for(lambda d: "notice=escalated" in d.current_url)
    await paging.tick()
    assert len(paging.texts_to(BOB)) == 1 and len(paging.calls_to(BOB)) == 1
    assert f"#{number}" in paging.texts_to(BOB)[0]
    assert "alice escalated now: step 2 is due at once" in await browser.text("ol.timeline")
    await fits_the_width_and_is_accessible(browser)

    # Change severity: on the timeline, and in the facts.
    before = (await incident_detail(paging, number))["severity"]
    await browser.script("document.getElementById('severity-choice').value = 'SEV3'")
    await browser.click("#change-severity")
    await browser.wait_for(lambda d: "notice=severity" in d.current_url)
    assert f"Severity changed from {before} to SEV3" in await browser.text("ol.timeline")
    assert await browser.text("#incident-severity") == "SEV3"

    # A status update, previewed: the channel text and the SMS, nothing posted.
    await browser.script("document.getElementById('update-phase').value = 'identified'")
    await browser.type("#update-message", "Rolled back the deploy")
    await browser.click("#preview-update")
    await browser.wait_for(lambda d: d.find_elements("css selector", "#preview-channel") != [])
    channel = await browser.text("#preview-channel")
    assert f"Incident #{number} - " in channel and "Status: Identified" in channel
    assert "Severity: SEV 3" in channel and "Rolled back the deploy" in channel
    assert "Identified (SEV 3)" in await browser.text("#preview-sms")
    await fits_the_width_and_is_accessible(browser)
    assert (await paging.api.get(f"/api/v1/incidents/{number}/updates")).json() == []
    await browser.click("#post-update")
    await browser.wait_for(lambda d: "notice=update-posted" in d.current_url)
    assert "Status update (Identified): Rolled back the deploy" in await browser.text("ol.timeline")
