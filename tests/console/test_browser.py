"""The console in a real headless Chromium, at a phone's width and a desktop's:
sign in with the code the fake Twilio received, acknowledge from the incident
page and see the SMS escalation stop, watch an alert's resolution arrive live;
and hostile alert text stays text."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests.browser import DESKTOP_WIDTH, PHONE_WIDTH, Browser
from tests.console.helpers import last_code
from tests.helpers import am_alert, am_payload
from tests.paging import ALICE, BOB, Paging, checkout_alert, incident_detail, open_incident


async def sign_in_in_browser(
    browser: Browser, paging: Paging, phone: str, *, check: bool = False
) -> None:
    await browser.get(f"{paging.url}/")
    assert "/signin" in browser.url  # no session: the sign-in page
    if check:
        await fits_the_width_and_is_accessible(browser)
    await browser.type("#phone", phone)
    await browser.click("form.stack button[type=submit]")
    await browser.wait_for(lambda d: "/signin/code" in d.current_url)
    await paging.tick()  # the engine sends the code
    await browser.type("#code", last_code(paging, phone))
    await browser.click("form.stack button[type=submit]")
    await browser.wait_for(lambda d: d.current_url.rstrip("/") == paging.url)


async def fits_the_width_and_is_accessible(browser: Browser) -> None:
    """No sideways scrolling at this width, and axe-core finds no WCAG 2 A/AA
    violation (labels, contrast, names, landmarks)."""
    overflow = await browser.script(
        "return document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"{browser.url}: {overflow} px wider than the window"
    assert await browser.accessibility_violations() == [], browser.url


async def press_tab_until(browser: Browser, element_id: str, most: int = 40) -> None:
    """Reach ``element_id`` with the Tab key alone (the page is keyboard-usable)."""
    for _ in range(most):
        if await browser.script("return document.activeElement.id") == element_id:
            return
        await browser.run(ActionChains(browser.driver).send_keys(Keys.TAB).perform)
    raise AssertionError(f"#{element_id} not reached by {most} tabs")


@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
async def test_sign_in_acknowledge_and_watch_the_resolution_arrive_live(
    paging: Paging, browser: Browser, width: int
) -> None:
    number = await open_incident(paging, checkout_alert("c0ffee0000000001"))
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1  # alice is paged; bob is next in 5 minutes
    await browser.width(width)

    await sign_in_in_browser(browser, paging, ALICE, check=True)
    await fits_the_width_and_is_accessible(browser)
    await browser.click(f'li[data-number="{number}"] a.title')
    await browser.wait_for(lambda d: d.current_url.endswith(f"/incidents/{number}"))
    await fits_the_width_and_is_accessible(browser)
    assert await browser.text("#incident-status") == "triggered"

    await press_tab_until(browser, "acknowledge")
    await browser.run(ActionChains(browser.driver).send_keys(Keys.ENTER).perform)
    await browser.wait_for(lambda d: "notice=acknowledged" in d.current_url)
    assert await browser.text("#incident-status") == "acknowledged"
    assert "Acknowledged by alice via console" in await browser.text("ol.timeline")
    await fits_the_width_and_is_accessible(browser)  # with its notice

    await paging.tick(minutes=6)  # past the next step: bob would have been paged now
    await paging.tick(minutes=30)
    assert paging.texts_to(BOB) == [] and paging.calls_to(BOB) == []
    assert len(paging.texts_to(ALICE)) == 2  # the page and the code, nothing more

    # Live: the alert resolves at its source; the open page shows it without a reload.
    await browser.wait_for(
        lambda d: d.execute_script("return document.documentElement.dataset.live") == "open"
    )
    await browser.script("window.notReloaded = true")
    assert await browser.text(".alert .alert-status") == "firing"
    resolved = am_payload(
        [
            am_alert(
                "c0ffee0000000001",
                status="resolved",
                ends_at="2026-11-26T12:10:00Z",
                service="checkout",
                severity="critical",
            )
        ],
        group_key="{}:{checkout=c0ffee0000000001}",
    )
    answer = await paging.api.post("/api/v1/webhooks/alertmanager", json=resolved)
    assert answer.status_code == 200, answer.text
    await browser.wait_for(
        lambda d: d.find_element("css selector", ".alert .alert-status").text == "resolved"
    )
    assert await browser.script("return window.notReloaded") is True
    assert (await incident_detail(paging, number))["alerts"][0]["status"] == "resolved"

    await browser.click('nav a[href="/oncall"]')
    await browser.wait_for(lambda d: d.current_url.endswith("/oncall"))
    await fits_the_width_and_is_accessible(browser)
    # The checker does see a violation when there is one: an input without a label.
    await browser.script("document.querySelector('main').append(document.createElement('input'))")
    assert any(v.startswith("label ") for v in await browser.accessibility_violations())


async def test_a_new_incident_arrives_live_on_the_list(paging: Paging, browser: Browser) -> None:
    first = await open_incident(paging, checkout_alert("f1"))
    await sign_in_in_browser(browser, paging, ALICE)
    await browser.wait_for(
        lambda d: d.execute_script("return document.documentElement.dataset.live") == "open"
    )
    await browser.click(f'input[name="number"][value="{first}"]')  # a choice half made
    await browser.script("window.notReloaded = true")
    second = await open_incident(paging, checkout_alert("f2"))
    await browser.wait_for(
        lambda d: d.find_elements("css selector", f'li[data-number="{second}"]') != []
    )
    assert await browser.script("return window.notReloaded") is True
    picked = await browser.find(f'input[name="number"][value="{first}"]')
    assert await browser.run(picked.is_selected)  # the swap kept it


HOSTILE = {
    "script": "<script>window.pwned = 'script'</script>",
    "attribute": '"><img src=x onerror="window.pwned = \'img\'">',
    "rtl": "\u202egnp.exe\u202c safe \u200f",
}


async def test_hostile_alert_text_renders_inert(paging: Paging, browser: Browser) -> None:
    alert = am_alert(
        "bad0000000000001",
        alertname=HOSTILE["script"],
        annotations={
            "summary": HOSTILE["attribute"],
            "description": HOSTILE["rtl"],
            "runbook_url": "javascript:window.pwned='link'",
        },
        service="checkout",
        severity="critical",
        note=HOSTILE["attribute"],
    )
    number = await open_incident(paging, am_payload([alert], group_key="{}:{bad=1}"))
    await sign_in_in_browser(browser, paging, ALICE)
    await browser.get(f"{paging.url}/incidents/{number}")
    assert await browser.script("return window.pwned === undefined")
    assert await browser.find_all("main img") == []
    scripts = await browser.script(
        "return Array.from(document.scripts, s => s.getAttribute('src'))"
    )
    assert scripts == ["/static/console/live.js"]
    assert await browser.find_all("[onerror]") == []
    # The javascript: runbook is no link; the alert's http source link is.
    hrefs = await browser.script(
        "return Array.from(document.querySelectorAll('main a[href]'), a => a.getAttribute('href'))"
    )
    assert not any(h.lower().startswith("javascript") for h in hrefs)
    assert await browser.script(
        "return Array.from(document.querySelectorAll('.links a'), a => a.textContent)"
    ) == ["Source"]
    assert HOSTILE["script"] in await browser.text(".alert strong")
    assert HOSTILE["attribute"].strip() in await browser.text(".alert .summary")
    # Bidirectional marks are isolated in <bdi>, so they cannot reorder the page around them.
    isolated = await browser.script(
        "return document.querySelector('.alert .description bdi').textContent"
    )
    assert isolated == HOSTILE["rtl"]
    await browser.get(f"{paging.url}/")
    assert await browser.script("return window.pwned === undefined")
    # The incident's title is the alert's summary: there too, text.
    assert HOSTILE["attribute"] in await browser.text(f'li[data-number="{number}"] .title')
