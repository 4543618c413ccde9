"""Where Klaxon offers ``42S1h``: in the page of an incident from Alertmanager
when Klaxon has Alertmanager URLs (within the page's two segments), and in a
text before a silence asked by SMS ends, which extends it when answered."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from app.clock import ManualClock
from app.notify.texts import PageInfo, gsm7_segments, page_sms
from tests.maintenance.conftest import klaxon_silences
from tests.paging import ALICE, Paging, checkout_alert, open_incident
from tests.services.alertmanager import PrivateAlertmanager

CHECKOUT = {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"}


@pytest.mark.parametrize("title_chars", [10, 200, 400])
def test_the_silence_offer_keeps_the_page_within_two_segments(title_chars: int) -> None:
    info = PageInfo(
        number=123456,
        severity="critical",
        title="Checkout " + "x" * title_chars,
        service="checkout",
        summary="50% of requests failing " + "y" * title_chars,
        runbook_url="https://runbooks.example/checkout",
        offer_silence=True,
    )
    text = page_sms(info)
    assert text.endswith("Reply 123456A to ack, 123456R to resolve, 123456S1h to silence 1h.")
    assert gsm7_segments(text) <= 2
    plain = page_sms(PageInfo(**{**info.__dict__, "offer_silence": False}))
    assert "S1h" not in plain and plain.endswith("123456R to resolve.")


async def test_a_page_from_alertmanager_offers_a_silence(am_paging: Paging) -> None:
    number = await open_incident(am_paging, checkout_alert())
    await am_paging.tick()
    [page] = am_paging.texts_to(ALICE)
    assert page.endswith(
        f"Reply {number}A to ack, {number}R to resolve, {number}S1h to silence 1h."
    )


async def test_no_offer_without_alertmanager(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    [page] = paging.texts_to(ALICE)
    assert page.endswith(f"Reply {number}A to ack, {number}R to resolve.")


async def test_no_offer_for_an_incident_not_from_alertmanager(am_paging: Paging) -> None:
    check = {
        "name": "checkout-synthetic",
        "status": "down",
        "labels": {"service": "checkout", "severity": "critical"},
    }
    resp = await am_paging.api.post("/api/v1/webhooks/healthcheck", json=check)
    assert resp.status_code == 200, resp.text
    await am_paging.tick()
    [page] = am_paging.texts_to(ALICE)
    assert "S1h" not in page and page.endswith("R to resolve.")


async def test_before_a_silence_ends_its_asker_is_offered_42s1h_which_extends_it(
    am_paging: Paging, alertmanager: PrivateAlertmanager, real_clock: ManualClock
) -> None:
    await asyncio.to_thread(alertmanager.fire, CHECKOUT)  # else the poll resolves it
    number = await open_incident(am_paging, checkout_alert())
    await am_paging.tick()
    await am_paging.sms_reply(ALICE, f"{number}S30m")
    await am_paging.tick()
    pages = len(am_paging.texts_to(ALICE))

    await am_paging.tick(minutes=19)
    await am_paging.tick()
    assert len(am_paging.texts_to(ALICE)) == pages, "not yet: more than 10 minutes left"
    await am_paging.tick(minutes=2)
    await am_paging.tick()
    [reminder] = am_paging.texts_to(ALICE)[pages:]
    assert reminder.startswith(f"[Klaxon] #{number}: its Alertmanager silence ends at ")
    assert reminder.endswith(f"Reply {number}S1h to extend it.")
    await am_paging.tick(minutes=2)
    await am_paging.tick()
    assert len(am_paging.texts_to(ALICE)) == pages + 1, "once"

    await am_paging.sms_reply(ALICE, f"{number}S1h")
    await am_paging.tick()
    [silence] = [s for s in await klaxon_silences(alertmanager) if s["status"]["state"] == "active"]
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    assert abs(ends - (real_clock.now() + timedelta(hours=1))) < timedelta(seconds=5)
