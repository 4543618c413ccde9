"""Drill: Twilio down or slow.

The promise: pages are retried within their throttles, and the escalation still
moves to the next step on time.

* Twilio answering 5xx or 429: the page is retried with backoff (10 s, 20 s,
  40 s, ... at most ``KLAXON_SEND_ATTEMPTS`` tries) and goes out exactly once when
  Twilio recovers; if it never does, the page ends ``failed`` with a timeline
  entry, and the next step fires at its due time all the same.
* Twilio unreachable (connection refused): the same, and the engine keeps going.
* Twilio slow (no answer within ``KLAXON_TWILIO_TIMEOUT``): the send is retried.
  Twilio may have accepted the request it did not answer in time, so the phone
  may get the page twice: a duplicate page is better than a lost one.
* A hung send holds up neither the firing of due steps nor the pages to other
  numbers.
* Retries stay within the per-number throttle; an attempt that was not accepted
  (error answer, refused, timed out) uses no throttle slot.

The engine runs on a clock the test advances (``tick``); no test waits out a
delay.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select

from app.clock import ManualClock
from app.escalation import steps
from app.models import notifications_table
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers import am_alert, am_payload
from tests.paging import (
    ALICE,
    BOB,
    CAROL,
    Paging,
    checkout_alert,
    open_incident,
    serve_paging,
)

#: KLAXON_TWILIO_TIMEOUT for the slow-Twilio tests: short, to keep the drill fast,
#: yet long enough for an answer over loopback on a busy machine. The other tests
#: keep the default (10 s): their Twilio fails fast or not at all.
TIMEOUT = 0.5
#: How late the slow fake Twilio answers (and, by then, has accepted the message).
LATE = TIMEOUT + 0.3
#: The attempts of one page, in seconds after the first: backoff 10, 20, 40, 80 s.
ATTEMPTS_AT = [0, 10, 30, 70, 150]


@pytest.fixture
async def drill(db: str, fake: FakeTwilio, clock: ManualClock) -> AsyncIterator[Paging]:
    async with serve_paging(db, fake, clock) as paging:
        yield paging


async def _notifications(paging: Paging, to: str) -> list[Any]:
    n = notifications_table.c
    async with paging.app.state.runtime.sessions() as session:
        rows = await session.execute(
            select(notifications_table).where(n.to_number == to).order_by(n.id)
        )
        return list(rows)


async def _timeline(paging: Paging, number: int) -> list[str]:
    detail = (await paging.api.get(f"/api/v1/incidents/{number}")).json()
    return [str(e["message"]) for e in detail["timeline"]]


def _requests_to(fake: FakeTwilio, number: str) -> list[dict[str, Any]]:
    return [r for r in fake.requests if r["method"] == "POST" and r["form"].get("To") == number]


def _other_service_alert() -> dict[str, Any]:
    """A SEV2 on the default policy: its step 1 (nights only) is skipped at noon, so
    it calls carol at once."""
    return am_payload(
        [am_alert("5ea4c00000000001", service="search", severity="critical")],
        group_key="{}:{search}",
    )


async def _pages_are(paging: Paging, to: str, *expected: tuple[str, int]) -> bool:
    """Whether the pages to ``to`` are in these (state, attempts), in order."""
    return [(p.state, p.attempts) for p in await _notifications(paging, to)] == list(expected)


async def _until(
    what: str, check: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0
) -> None:
    """Short polling, bounded: for work the engine loop does on its own."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        done = check()
        if inspect.isawaitable(done):
            done = await done
        if done:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.02)


# --------------------------------------------------------------------------- errors, then recovery


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_twilio_failing_for_a_while_the_page_is_retried_with_backoff_and_sent_once(
    drill: Paging, status: int
) -> None:
    drill.fake.fail_next(3, status=status)
    number = await open_incident(drill, checkout_alert())
    await drill.tick()
    for previous, at in pairwise(ATTEMPTS_AT[:4]):
        tried = len(_requests_to(drill.fake, ALICE))
        await drill.tick(seconds=at - previous - 1)
        assert len(_requests_to(drill.fake, ALICE)) == tried, "no retry before its backoff"
        await drill.tick(seconds=1)
        assert len(_requests_to(drill.fake, ALICE)) == tried + 1
    assert len(drill.texts_to(ALICE)) == 1
    [page] = await _notifications(drill, ALICE)
    assert (page.state, page.attempts, page.twilio_sid) == (
        "sent",
        3,
        drill.fake.messages[0]["sid"],
    )
    timeline = await _timeline(drill, number)
    assert sum("retrying at" in m for m in timeline) == 3
    assert "SMS page sent to alice" in timeline

    await drill.tick(minutes=30)  # through step 2 and beyond
    assert len(drill.texts_to(ALICE)) == 1, "sent once, never again"
    assert len(_requests_to(drill.fake, ALICE)) == 4


async def test_retries_do_not_delay_the_next_step(drill: Paging) -> None:
    drill.fake.fail_next(3, status=503)
    await open_incident(drill, checkout_alert())
    await drill.tick()
    for previous, at in pairwise(ATTEMPTS_AT[:4]):
        await drill.tick(seconds=at - previous)
    assert len(drill.texts_to(ALICE)) == 1  # 70 s after step 1, on the fourth try
    # Step 2 is due 5 minutes after step 1 fired, not after the page got through.
    await drill.tick(seconds=300 - ATTEMPTS_AT[3] - 1)
    assert _requests_to(drill.fake, BOB) == []
    await drill.tick(seconds=1)
    assert len(drill.texts_to(BOB)) == 1 and len(drill.calls_to(BOB)) == 1


async def test_twilio_refusing_connections_for_a_while_the_page_goes_out_once_it_is_back(
    drill: Paging,
) -> None:
    await drill.fake.go_down()
    number = await open_incident(drill, checkout_alert())
    await drill.tick()
    await drill.tick(seconds=10)
    await drill.tick(seconds=20)
    assert drill.fake.requests == [], "nothing reached Twilio"
    [page] = await _notifications(drill, ALICE)
    assert (page.state, page.attempts) == ("pending", 3)
    await drill.fake.come_back()
    await drill.tick(seconds=39)
    assert drill.texts_to(ALICE) == []
    await drill.tick(seconds=1)
    assert len(drill.texts_to(ALICE)) == 1
    timeline = await _timeline(drill, number)
    failures = [m for m in timeline if m.startswith("SMS to alice failed")]
    assert len(failures) == 3
    # The timeline says why, also when there is no Twilio error code to show.
    assert all(m.startswith("SMS to alice failed (connection error: ") for m in failures), failures
    await drill.tick(minutes=30)
    assert len(drill.texts_to(ALICE)) == 1


async def test_the_engine_loop_keeps_going_while_twilio_refuses_connections(
    db: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    async with serve_paging(db, fake, clock) as paging:
        paging.engine.start()
        await fake.go_down()
        await open_incident(paging, checkout_alert())  # the webhook wakes the engine
        for tried, backoff in [(1, 10), (2, 20), (3, 40)]:
            await _until(
                f"attempt {tried} refused", partial(_pages_are, paging, ALICE, ("pending", tried))
            )
            if tried == 3:
                await fake.come_back()
            clock.advance(seconds=backoff)
            paging.engine.wake()
        await _until("alice's page sent", partial(_pages_are, paging, ALICE, ("sent", 3)))
        assert len(paging.texts_to(ALICE)) == 1

        clock.advance(seconds=300 - 70)  # step 2's due time, through the same loop
        paging.engine.wake()
        await _until("bob paged", lambda: len(_requests_to(fake, BOB)) == 2)
        await _until("bob's pages sent", partial(_pages_are, paging, BOB, ("sent", 0), ("sent", 0)))
        assert len(paging.texts_to(BOB)) == 1 and len(paging.calls_to(BOB)) == 1


async def test_acknowledging_while_twilio_is_down_stops_the_retries(drill: Paging) -> None:
    await drill.fake.go_down()
    number = await open_incident(drill, checkout_alert())
    await drill.tick()
    acked = await drill.api.post(f"/api/v1/incidents/{number}/acknowledge")
    assert acked.status_code == 200, acked.text
    await drill.fake.come_back()
    await drill.tick(minutes=30)
    assert drill.fake.requests == [], "no retry, no step 2"
    assert [p.state for p in await _notifications(drill, ALICE)] == ["cancelled"]


# --------------------------------------------------------------------------- down for good


async def _go_down(fake: FakeTwilio, how: str, *, sends: int) -> None:
    if how == "refused":
        await fake.go_down()
    else:
        fake.fail_next(sends, status=503)


@pytest.mark.parametrize("how", ["503", "refused"])
async def test_twilio_down_past_the_retry_budget_the_page_is_not_lost_and_step_2_is_on_time(
    drill: Paging, how: str
) -> None:
    # Down until told otherwise: alice's five attempts, four more (backoff 160 s,
    # then 5 minutes apart), and every try of step 2's sends (bob's SMS and call).
    late = [310, 610, 910, 1210]
    await _go_down(drill.fake, how, sends=1000)
    number = await open_incident(drill, checkout_alert())
    await drill.tick()
    for previous, at in pairwise(ATTEMPTS_AT):
        await drill.tick(seconds=at - previous)
    [page] = await _notifications(drill, ALICE)
    assert (page.state, page.attempts) == ("pending", len(ATTEMPTS_AT))
    timeline = await _timeline(drill, number)
    assert not any("failed for good" in m for m in timeline)
    why = "20503 HTTP 503: " if how == "503" else "connection error: "
    [past_budget] = [m for m in timeline if "a page is retried, at most 5 minutes apart," in m]
    assert past_budget.startswith(f"SMS to alice failed 5 times ({why}"), past_budget
    assert "until the incident is acknowledged" in past_budget

    # Step 2 fires 5 minutes after step 1, Twilio or not.
    await drill.tick(seconds=300 - ATTEMPTS_AT[-1] - 1)
    assert await _notifications(drill, BOB) == []
    await drill.tick(seconds=1)
    bob = await _notifications(drill, BOB)
    assert sorted((p.channel, p.state, p.attempts) for p in bob) == [
        ("sms", "pending", 1),
        ("voice", "pending", 1),
    ]
    assert "Step 2: paging bob by sms and voice" in await _timeline(drill, number)

    # Alice's page keeps its 5-minute rhythm through the outage, quietly: the
    # timeline said it once.
    now = 300
    for tried, at in enumerate(late, start=len(ATTEMPTS_AT)):
        await drill.tick(seconds=at - now - 1)
        assert (await _notifications(drill, ALICE))[0].attempts == tried
        await drill.tick(seconds=1)
        now = at
    [page] = await _notifications(drill, ALICE)
    assert (page.state, page.attempts) == ("pending", len(ATTEMPTS_AT) + len(late))
    retried = [m for m in await _timeline(drill, number) if "SMS to alice failed" in m]
    assert len(retried) == len(ATTEMPTS_AT)

    # Twilio is back: every page goes out, once; none was lost to the outage.
    if how == "refused":
        await drill.fake.come_back()
    else:
        assert drill.fake.stop_failing() > 0
    await drill.tick(seconds=300)
    assert len(drill.texts_to(ALICE)) == 1
    assert len(drill.texts_to(BOB)) == 1 and len(drill.calls_to(BOB)) == 1
    await drill.tick(minutes=30)
    assert len(drill.texts_to(ALICE)) == 1
    assert len(drill.texts_to(BOB)) == 1 and len(drill.calls_to(BOB)) == 1


async def test_a_page_past_its_budget_stops_when_the_incident_is_acknowledged(
    drill: Paging,
) -> None:
    drill.fake.fail_next(100, status=503)
    number = await open_incident(drill, checkout_alert())
    await drill.tick()
    for previous, at in pairwise(ATTEMPTS_AT):
        await drill.tick(seconds=at - previous)
    await drill.tick(seconds=300)
    sent = len(_requests_to(drill.fake, ALICE))
    assert sent == len(ATTEMPTS_AT) + 1
    acked = await drill.api.post(f"/api/v1/incidents/{number}/acknowledge", json={})
    assert acked.status_code == 200, acked.text
    await drill.tick(minutes=60)
    assert len(_requests_to(drill.fake, ALICE)) == sent, "no page after the acknowledgement"
    [page] = await _notifications(drill, ALICE)
    assert page.state == "cancelled"


async def test_a_notice_gives_up_after_its_budget(drill: Paging) -> None:
    """Only pages outlive their budget: a resolution notice to someone already
    paged fails for good after KLAXON_SEND_ATTEMPTS tries."""
    number = await open_incident(drill, checkout_alert())
    await drill.tick()
    assert len(drill.texts_to(ALICE)) == 1
    drill.fake.fail_next(len(ATTEMPTS_AT), status=503)
    resolved = await drill.api.post(f"/api/v1/incidents/{number}/resolve", json={})
    assert resolved.status_code == 200, resolved.text
    await drill.tick()
    for previous, at in pairwise(ATTEMPTS_AT):
        await drill.tick(seconds=at - previous)
    notices = [p for p in await _notifications(drill, ALICE) if p.kind != "page"]
    assert [(p.state, p.attempts) for p in notices] == [("failed", len(ATTEMPTS_AT))]
    assert any("failed for good" in m for m in await _timeline(drill, number))
    await drill.tick(minutes=30)
    assert len(drill.texts_to(ALICE)) == 1


async def test_a_page_bundled_with_one_past_its_budget_keeps_its_own_attempts(
    drill: Paging,
) -> None:
    # The first incident's page to alice fails five times; the second incident's
    # page joins it in one SMS for the fifth try. Each keeps its own count: the
    # first is past its budget (retried every 5 minutes), the second has had one try.
    drill.fake.fail_next(len(ATTEMPTS_AT), status=503)
    first = await open_incident(drill, checkout_alert("c000000000000001"))
    await drill.tick()
    for previous, at in pairwise(ATTEMPTS_AT[:-1]):
        await drill.tick(seconds=at - previous)
    drill.clock.advance(seconds=ATTEMPTS_AT[-1] - ATTEMPTS_AT[-2])
    second = await open_incident(drill, checkout_alert("c000000000000002"))
    await drill.tick()
    assert _requests_to(drill.fake, ALICE)[-1]["form"]["Body"].startswith("[Klaxon] 2 incidents")
    pages = {p.incident_number: p for p in await _notifications(drill, ALICE)}
    assert (pages[first].state, pages[first].attempts) == ("pending", len(ATTEMPTS_AT))
    assert (pages[second].state, pages[second].attempts) == ("pending", 1)
    assert any("failed 5 times" in m for m in await _timeline(drill, first))
    assert not any("failed 5 times" in m for m in await _timeline(drill, second))
    # Twilio is back; the second page is due again, and a SEV2 page takes along
    # what waits for the number: the first, which would retry 5 minutes on.
    await drill.tick(seconds=10)
    [sms] = drill.texts_to(ALICE)
    assert sms.startswith(f"[Klaxon] 2 incidents: #{first} #{second}.")
    await drill.tick(seconds=300)
    assert len(drill.texts_to(ALICE)) == 1


# --------------------------------------------------------------------------- slow


async def test_a_hung_send_holds_up_neither_due_steps_nor_pages_to_other_numbers(
    db: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    # Twilio answers nothing for a minute and the client waits 30 s: alice's page
    # stays in flight for as long as this test looks. The engine runs its own loop.
    fake.set_delay(60)
    async with serve_paging(db, fake, clock, twilio_timeout=30) as paging:
        paging.engine.start()
        number = await open_incident(paging, checkout_alert())  # the webhook wakes the engine
        await _until("alice's page reached Twilio", lambda: len(_requests_to(fake, ALICE)) == 1)

        # Meanwhile another incident pages carol at once, and step 2 comes due.
        await open_incident(paging, _other_service_alert())
        clock.advance(minutes=5)
        paging.engine.wake()
        await _until(
            "step 2 paged bob and the other incident called carol",
            lambda: len(_requests_to(fake, BOB)) == 2 and len(_requests_to(fake, CAROL)) == 1,
        )
        [alice] = await _notifications(paging, ALICE)
        assert alice.state == "sending", "all of that while alice's page waited for Twilio"
        assert "Step 2: paging bob by sms and voice" in await _timeline(paging, number)


async def test_a_send_that_waited_out_most_of_its_claim_is_handed_back_not_sent(
    db: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    # One send at a time. Step 2 pages bob by SMS and by call, both claimed together
    # (lease 60 s); one goes first and Twilio takes its time. When the other's turn
    # comes, 10 s of the claim are left, less than a send may take (Twilio's timeout,
    # 10 s, plus a commit, 5 s): sending then could outlive the claim and let another
    # replica send it again. It is handed back instead, unsent, and goes out once,
    # on a fresh claim.
    async with serve_paging(db, fake, clock, engine_workers=1) as drill:
        await open_incident(drill, checkout_alert())
        await drill.tick()
        assert len(_requests_to(fake, ALICE)) == 1
        fake.fail_next(2, status=503)  # step 2's first tries, so both retry together
        await drill.tick(minutes=5)
        assert len(_requests_to(fake, BOB)) == 2
        clock.advance(seconds=10)
        fake.set_delay(0.5)
        # The sender alone (no further rounds), so what it leaves can be seen.
        sending = asyncio.create_task(drill.engine.dispatcher.send_due())
        await fake.wait_for_requests(len(fake.requests) + 1)
        clock.advance(seconds=50)
        assert await sending == 2, "both were claimed together"
        assert len(_requests_to(fake, BOB)) == 3, "no send started with 10 s of claim left"
        bob = sorted(await _notifications(drill, BOB), key=lambda p: p.state != "sent")
        assert [p.state for p in bob] == ["sent", "pending"]
        handed_back = bob[1]
        assert (handed_back.lease_owner, handed_back.attempts) == (None, 1)
        assert handed_back.due_at == clock.now()

        fake.set_delay(0)
        await drill.tick()
        assert len(drill.texts_to(BOB)) == 1 and len(drill.calls_to(BOB)) == 1
        assert [p.state for p in await _notifications(drill, BOB)] == ["sent", "sent"]


async def test_a_page_that_waited_for_a_send_slot_is_screened_again(
    db: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    # One send at a time. Two incidents page two people at once: both pages are
    # claimed (and screened) together, alice's goes first and Twilio takes its
    # time. The other incident is acknowledged while its call waits for the
    # slot: when its turn comes it is screened again, and not made.
    async with serve_paging(db, fake, clock, engine_workers=1) as drill:
        await open_incident(drill, checkout_alert())
        other = await open_incident(drill, _other_service_alert())
        assert await steps.fire_due(drill.app.state.runtime) >= 2
        fake.set_delay(0.5)
        sending = asyncio.create_task(drill.engine.dispatcher.send_due())
        await fake.wait_for_requests(1)
        assert _requests_to(fake, ALICE) and not _requests_to(fake, CAROL)
        acked = await drill.api.post(f"/api/v1/incidents/{other}/acknowledge", json={"by": "bob"})
        assert acked.status_code == 200, acked.text
        fake.set_delay(0)
        await sending
        assert _requests_to(fake, CAROL) == [], "the call waited out an acknowledgement"
        assert [p.state for p in await _notifications(drill, CAROL)] == ["cancelled"]


async def test_twilio_too_slow_the_send_is_retried_and_the_phone_may_get_it_twice(
    db: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    # Twilio answers after the client gave up, having accepted the message: Twilio's
    # Messages API has no idempotency key, so Klaxon cannot tell this from a request
    # that never arrived. It retries: a duplicate page is better than a lost one.
    async with serve_paging(db, fake, clock, twilio_timeout=TIMEOUT) as drill:
        drill.fake.set_delay(LATE)
        number = await open_incident(drill, checkout_alert())
        await drill.tick()
        [page] = await _notifications(drill, ALICE)
        assert (page.state, page.attempts) == ("pending", 1)
        timeline = await _timeline(drill, number)
        assert any(
            m.startswith(f"SMS to alice failed (timed out after {TIMEOUT:g}s waiting for Twilio)")
            for m in timeline
        ), timeline
        await drill.fake.wait_for_messages(1)  # Twilio did take it, late
        drill.fake.set_delay(0)
        await drill.tick(seconds=10)
        first, second = drill.texts_to(ALICE)
        assert first == second
        [page] = await _notifications(drill, ALICE)
        assert (page.state, page.attempts, page.twilio_sid) == (
            "sent",
            1,
            drill.fake.messages[1]["sid"],
        )
        await drill.tick(minutes=30)
        assert len(drill.texts_to(ALICE)) == 2


# --------------------------------------------------------------------------- throttles


async def test_a_retry_waits_for_the_throttle_window_and_a_failed_attempt_uses_no_slot(
    db: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    # SEV3 pages: the throttle holds back no SEV1/SEV2 page (tests/escalation/test_throttle.py).
    async with serve_paging(db, fake, clock, throttle_sms=1) as paging:
        fake.fail_next(1, status=503)
        first = await open_incident(paging, checkout_alert("a000000000000001", severity="warning"))
        await paging.tick()  # alice's page for the first incident: 503, retry at +10 s
        await paging.tick(seconds=5)
        second = await open_incident(paging, checkout_alert("a000000000000002", severity="warning"))
        await paging.tick()
        assert len(paging.texts_to(ALICE)) == 1, "the 503 took no slot: the second page went"
        assert f"#{second}" in paging.texts_to(ALICE)[0]

        await paging.tick(seconds=5)  # the retry is due, the window is full
        assert len(_requests_to(fake, ALICE)) == 2, "a retry never goes past the throttle"
        held = [m for m in await _timeline(paging, first) if m.startswith("SMS to alice held back")]
        assert held == [
            "SMS to alice held back: the per-number limit is reached; it goes out at 12:15:05 UTC"
        ]
        await paging.tick(seconds=900 - 5 - 1)
        assert len(_requests_to(fake, ALICE)) == 2
        await paging.tick(seconds=1)  # 12:15:05, as announced
        assert len(paging.texts_to(ALICE)) == 2
        assert f"#{first}" in paging.texts_to(ALICE)[1]
        pages = {p.incident_number: p for p in await _notifications(paging, ALICE)}
        assert (pages[first].state, pages[first].attempts) == ("sent", 1), (
            "waiting for the window used no attempt"
        )


async def test_a_timed_out_attempt_uses_no_throttle_slot(
    db: str, fake: FakeTwilio, clock: ManualClock
) -> None:
    # Whether a timed-out request reached the phone is unknown. Counting it could
    # hold back a real page for a whole window while Twilio is slow, when pages
    # matter most; not counting it costs at most one SMS over the limit per
    # timeout. Klaxon counts only the sends Twilio confirmed.
    async with serve_paging(db, fake, clock, twilio_timeout=TIMEOUT, throttle_sms=1) as paging:
        fake.set_delay(LATE)
        first = await open_incident(paging, checkout_alert("b000000000000001", severity="warning"))
        await paging.tick()
        await fake.wait_for_messages(1)  # accepted after the timeout: on the phone
        fake.set_delay(0)
        await paging.tick(seconds=5)
        second = await open_incident(paging, checkout_alert("b000000000000002", severity="warning"))
        await paging.tick()
        texts = paging.texts_to(ALICE)
        assert len(texts) == 2 and f"#{second}" in texts[1], "not held back by the timeout"
        await paging.tick(seconds=5)  # the first page's retry: now the window is full
        assert len(paging.texts_to(ALICE)) == 2
        await paging.tick(seconds=895)
        texts = paging.texts_to(ALICE)
        assert len(texts) == 3 and f"#{first}" in texts[2]
