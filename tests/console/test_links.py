"""Signed links in page SMS (app/notify/links.py, app/console/links.py): the
page carries ``PUBLIC_URL/i/42?s=…`` within its two segments; the link opens
that incident signed in as the responder paged, for 30 minutes; a tampered,
borrowed or expired link opens nothing; a setting leaves links out."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from app.clock import ManualClock
from app.notify import links
from app.notify.texts import PageInfo, gsm7_segments, page_sms
from tests.conftest import make_settings
from tests.console.helpers import console_client, csrf_of
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import (
    ALICE,
    BOB,
    CAROL,
    PUBLIC_URL,
    Paging,
    checkout_alert,
    open_incident,
    serve_paging,
)

SECRET = "link-secret-for-tests-0123456789abcdef"
LINK = re.compile(re.escape(PUBLIC_URL) + r"(/i/(\d+)\?s=([0-9a-z]+\.[0-9a-z]+\.[\w-]+))")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
async def linked(db: str, fake_twilio: FakeTwilio, clock: ManualClock) -> AsyncIterator[Paging]:
    async with serve_paging(db, fake_twilio, clock, console_link_secret=SECRET) as served:
        yield served


def link_in(text: str) -> str:
    """The path and query of the link in a page's text."""
    found = LINK.search(text)
    assert found is not None, text
    return found.group(1)


def test_a_link_verifies_for_its_incident_and_responder_until_it_expires() -> None:
    settings = make_settings("sqlite+aiosqlite://", console_link_secret=SECRET)
    signed = links.sign(settings, 42, 7, NOW)
    assert links.verify(settings, 42, signed, NOW) == links.Verified(
        7, NOW + timedelta(hours=settings.console_link_valid_hours)
    )
    expiry = NOW + timedelta(hours=settings.console_link_valid_hours)
    assert links.verify(settings, 42, signed, expiry - timedelta(seconds=1)) is not None
    assert links.verify(settings, 42, signed, expiry) is None  # expired
    assert links.verify(settings, 43, signed, NOW) is None  # another incident
    who, until, mac = signed.split(".")
    assert links.verify(settings, 42, f"8.{until}.{mac}", NOW) is None  # another responder
    later = links._b36(int(until, 36) + 3600)
    assert links.verify(settings, 42, f"{who}.{later}.{mac}", NOW) is None  # a later expiry
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    assert links.verify(settings, 42, f"{who}.{until}.{flipped}", NOW) is None
    other = settings.model_copy(update={"console_link_secret": SecretStr("x" * 40)})
    assert links.verify(other, 42, signed, NOW) is None  # another secret
    for junk in ["", "a.b", "..", f"-1.{until}.{mac}", f"{who.upper()}X.{until}.{mac}", "x" * 65]:
        assert links.verify(settings, 42, junk, NOW) is None, junk


def test_the_link_fits_the_pages_two_segments_and_gives_way_to_nothing_essential() -> None:
    link = f"{PUBLIC_URL}/i/123456?s=" + "a" * 30
    long = PageInfo(
        number=123456,
        severity="SEV1",
        title="Checkout fails for every customer in every region " * 4,
        service="checkout",
        summary="Payments time out after 30 seconds while the database fails over " * 4,
        runbook_url="https://runbooks.example/checkout/payments-are-failing",
        link=link,
    )
    text = page_sms(long)
    assert text.endswith(link) and gsm7_segments(text) <= 2
    assert "Reply 123456A to ack, 123456R to resolve." in text
    assert "Checkout fails" in text
    without = page_sms(PageInfo(123456, "SEV1", "Checkout down", "checkout", None, None))
    assert "/i/" not in without


async def test_a_page_carries_the_paged_responders_link_that_opens_the_incident(
    linked: Paging,
) -> None:
    number = await open_incident(linked, checkout_alert("a1"))
    await linked.tick()
    [page] = linked.texts_to(ALICE)
    assert gsm7_segments(page) <= 2
    path = link_in(page)
    assert path.startswith(f"/i/{number}?s=")
    async with console_client(linked) as client:
        assert (await client.get(f"/incidents/{number}")).status_code == 303  # not signed in
        opened = await client.get(path)
        assert opened.status_code == 303 and opened.headers["location"] == f"/incidents/{number}"
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie and "Max-Age=1800" in cookie
        shown = await client.get(f"/incidents/{number}")
        assert shown.status_code == 200 and "Sign out <bdi>alice</bdi>" in shown.text
        # A link session acts as alice: acknowledging works and stops the paging.
        done = await client.post(f"/incidents/{number}/acknowledge", data={"csrf": csrf_of(shown)})
        assert done.status_code == 303
        await linked.tick(minutes=6)
        assert linked.texts_to(BOB) == []
        # 30 minutes on, the link's session is over.
        linked.clock.advance(minutes=31)
        assert (await client.get(f"/incidents/{number}")).status_code == 303


async def test_a_tampered_borrowed_or_expired_link_opens_nothing(linked: Paging) -> None:
    number = await open_incident(linked, checkout_alert("a2"))
    await linked.tick()
    path = link_in(linked.texts_to(ALICE)[0])
    signed = path.split("?s=")[1]
    who, until, mac = signed.split(".")
    tries = [
        f"/i/{number}?s={who}.{until}.{mac[:-2]}xx",  # tampered signature
        f"/i/{number + 1}?s={signed}",  # another incident
        f"/i/{number}?s={links._b36(int(who, 36) + 1)}.{until}.{mac}",  # another responder
        f"/i/{number}",  # no signature
    ]
    async with console_client(linked) as client:
        for attempt in tries:
            answer = await client.get(attempt)
            assert answer.status_code == 403, attempt
            assert "no longer opens" in answer.text
            assert "klaxon_session" not in answer.headers.get("set-cookie", "")
            assert (await client.get(f"/incidents/{number}")).status_code == 303
        linked.clock.advance(hours=12, seconds=1)  # past the link's validity
        expired = await client.get(path)
        assert expired.status_code == 403
        assert f"/signin?next=%2Fincidents%2F{number}" in expired.text


async def test_pages_carry_no_link_when_the_setting_leaves_it_out(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> None:
    async with serve_paging(
        db, fake_twilio, clock, console_link_secret=SECRET, console_link_in_sms=False
    ) as paging:
        await open_incident(paging, checkout_alert("a3"))
        await paging.tick()
        [page] = paging.texts_to(ALICE)
        assert "/i/" not in page and "Reply" in page


async def test_without_a_secret_pages_carry_no_link(paging: Paging) -> None:
    await open_incident(paging, checkout_alert("a4"))
    await paging.tick()
    [page] = paging.texts_to(ALICE)
    assert "/i/" not in page


async def test_a_link_session_may_neither_open_admin_pages_nor_change_the_phone(
    linked: Paging,
) -> None:
    made = await linked.api.put("/api/v1/responders/alice", json={"phone": ALICE, "admin": True})
    assert made.status_code == 200, made.text
    number = await open_incident(linked, checkout_alert("a5"))
    await linked.tick()
    async with console_client(linked) as client:
        await client.get(link_in(linked.texts_to(ALICE)[0]))
        me = await client.get("/me")
        assert me.status_code == 200 and "sign in with a code" in me.text
        assert (await client.get("/admin/tokens")).status_code == 403
        changed = await client.post(
            "/me/phone", data={"csrf": csrf_of(me), "phone": "+15551239999"}
        )
        assert changed.status_code == 403
        await linked.tick()
        assert linked.texts_to("+15551239999") == []
        assert (await client.get(f"/incidents/{number}")).status_code == 200


async def test_a_responder_brought_in_gets_their_own_link(linked: Paging) -> None:
    number = await open_incident(linked, checkout_alert("a6"))
    await linked.tick()
    added = await linked.api.post(
        f"/api/v1/incidents/{number}/responders", json={"responder": "carol"}
    )
    assert added.status_code == 202, added.text
    await linked.tick()
    [page] = linked.texts_to(CAROL)
    async with console_client(linked) as client:
        opened = await client.get(link_in(page))
        assert opened.status_code == 303
        shown = await client.get(f"/incidents/{number}")
        assert "Sign out <bdi>carol</bdi>" in shown.text
    assert link_in(page) != link_in(linked.texts_to(ALICE)[0])
