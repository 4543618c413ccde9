"""Where Klaxon offers ``42S1h``: in the page of an incident from Alertmanager
when Klaxon has Alertmanager URLs (within the page's two segments), and in a
text before a silence asked by SMS ends, which extends it when answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from app.clock import ManualClock
from app.notify.texts import PageInfo, gsm7_segments, page_sms
from tests.fakes.twilio_server import FakeTwilio
from tests.maintenance.conftest import klaxon_silences
from tests.paging import ALICE, Paging, checkout_alert, open_incident, serve_paging
from tests.services.alertmanager import PrivateAlertmanager

CHECKOUT = {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"}


@pytest.fixture
async def with_am(
    db: str, fake_twilio: FakeTwilio, real_clock: ManualClock, alertmanager: PrivateAlertmanager
) -> AsyncIterator[Paging]:
    async with serve_paging(
        db, fake_twilio, real_clock, alertmanager_urls=alertmanager.url
    ) as paging:
        yield paging


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


async def test_a_page_from_alertmanager_offers_a_silence(with_am: Paging) -> None:
    number = await open_incident(with_am, checkout_alert())
    await with_am.tick()
    [page] = with_am.texts_to(ALICE)
    assert page.endswith(
        f"Reply {number}A to ack, {number}R to resolve, {number}S1h to silence 1h."
    )


async def test_no_offer_without_alertmanager(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    [page] = paging.texts_to(ALICE)
    assert page.endswith(f"Reply {number}A to ack, {number}R to resolve.")


async def test_no_offer_for_an_incident_not_from_alertmanager(with_am: Paging) -> None:
    check = {
        "name": "checkout-synthetic",
        "status": "down",
        "labels": {"service": "checkout", "severity": "critical"},
    }
    resp = await with_am.api.post("/api/v1/webhooks/healthcheck", json=check)
    assert resp.status_code == 200, resp.text
    await with_am.tick()
    [page] = with_am.texts_to(ALICE)
    assert "S1h" not in page and page.endswith("R to resolve.")


async def test_before_a_silence_ends_its_asker_is_offered_42s1h_which_extends_it(
    with_am: Paging, alertmanager: PrivateAlertmanager, real_clock: ManualClock
) -> None:
    await asyncio.to_thread(alertmanager.fire, CHECKOUT)  # else the poll resolves it
    number = await open_incident(with_am, checkout_alert())
    await with_am.tick()
    await with_am.sms_reply(ALICE, f"{number}S30m")
    await with_am.tick()
    pages = len(with_am.texts_to(ALICE))

    await with_am.tick(minutes=19)
    await with_am.tick()
    assert len(with_am.texts_to(ALICE)) == pages, "not yet: more than 10 minutes left"
    await with_am.tick(minutes=2)
    await with_am.tick()
    [reminder] = with_am.texts_to(ALICE)[pages:]
    assert reminder.startswith(f"[Klaxon] #{number}: its Alertmanager silence ends at ")
    assert reminder.endswith(f"Reply {number}S1h to extend it.")
    await with_am.tick(minutes=2)
    await with_am.tick()
    assert len(with_am.texts_to(ALICE)) == pages + 1, "once"

    await with_am.sms_reply(ALICE, f"{number}S1h")
    await with_am.tick()
    [silence] = [s for s in await klaxon_silences(alertmanager) if s["status"]["state"] == "active"]
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    assert abs(ends - (real_clock.now() + timedelta(hours=1))) < timedelta(seconds=5)
