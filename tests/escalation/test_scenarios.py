"""Escalation read as a phone would see it: who gets what, when, and what stops it.

The engine runs only when a test ticks it, on a clock the test advances: no
test waits out an escalation delay.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from sqlalchemy import update

from app.models import steps_table
from tests.helpers import am_alert, am_payload
from tests.paging import (
    ALICE,
    BOB,
    CAROL,
    PUBLIC_URL,
    Paging,
    checkout_alert,
    incident_detail,
    open_incident,
)


def _message_text(twiml: str) -> str | None:
    node = ET.fromstring(twiml).find("Message")
    return None if node is None else node.text


async def test_primary_then_secondary_then_ack_by_sms_stops_everything(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert paging.texts_to(ALICE) == [
        f"[Klaxon] SEV2 #{number} checkout errors (checkout): 50% of requests failing. "
        f"Runbook: https://runbooks.example/checkout. Reply {number}A to ack, "
        f"{number}R to resolve."
    ]
    assert paging.texts_to(BOB) == []

    await paging.tick(minutes=4, seconds=59)
    assert paging.texts_to(BOB) == [], "the secondary is paged only after the delay"

    await paging.tick(seconds=1)
    assert len(paging.texts_to(BOB)) == 1
    assert len(paging.calls_to(BOB)) == 1

    reply = await paging.sms_reply(BOB, f"{number}A")
    assert reply.status_code == 200
    assert _message_text(reply.text) == f"#{number} acknowledged"

    before = (len(paging.fake.messages), len(paging.fake.calls))
    await paging.tick(hours=2)
    # Nothing pages any more; bob, commanding since he acknowledged, is reminded
    # once that a status update is due (the update cadence).
    later = paging.fake.messages[before[0] :]
    assert [m["to"] for m in later] == [BOB]
    assert "a status update was due" in str(later[0]["body"])
    assert len(paging.fake.calls) == before[1]

    detail = await incident_detail(paging, number)
    assert detail["status"] == "acknowledged"
    assert detail["acknowledged_by"] == "bob"
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds.count("escalated") == 2
    ack = next(e for e in detail["timeline"] if e["kind"] == "acknowledged")
    assert ack["message"] == "Acknowledged by bob via sms"


async def test_voice_keypress_4_acknowledges(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    await paging.tick(minutes=5)
    [call] = paging.calls_to(BOB)
    assert call["url"] == f"{PUBLIC_URL}/api/v1/twilio/voice/{call['url'].rsplit('/', 1)[1]}"
    said = await paging.fake.answer_call(call["sid"], "4")
    assert "press 4 to acknowledge" in said[0].lower()
    assert "acknowledged" in said[-1].lower()
    detail = await incident_detail(paging, number)
    assert detail["status"] == "acknowledged"
    assert detail["acknowledged_by"] == "bob"
    assert any(e["message"] == "Acknowledged by bob via voice" for e in detail["timeline"])


async def test_unanswered_or_silent_call_does_not_acknowledge(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    await paging.tick(minutes=5)
    [call] = paging.calls_to(BOB)
    said = await paging.fake.answer_call(call["sid"], None)
    assert "not acknowledged" in said[-1].lower()
    await paging.fake.send_status_callback(call["sid"], "no-answer")
    detail = await incident_detail(paging, number)
    assert detail["status"] == "triggered"
    assert any(e["message"] == "Call to bob: no-answer" for e in detail["timeline"])


async def test_unsigned_reply_is_403_and_changes_nothing(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    reply = await paging.sms_reply(ALICE, f"{number}A", signed=False)
    assert reply.status_code == 403
    forged = await paging.fake.inbound_sms(
        ALICE, f"{number}A", f"{PUBLIC_URL}/api/v1/twilio/sms", bad_signature=True
    )
    assert forged.status_code == 403
    assert (await incident_detail(paging, number))["status"] == "triggered"


async def test_reply_from_an_unknown_number_changes_nothing_and_gets_no_answer(
    paging: Paging,
) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    reply = await paging.sms_reply("+15559999999", f"{number}A")
    assert reply.status_code == 200
    assert _message_text(reply.text) is None
    assert (await incident_detail(paging, number))["status"] == "triggered"


async def test_bare_a_acknowledges_the_latest_page_and_replies_say_what_happened(
    paging: Paging,
) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert _message_text((await paging.sms_reply(ALICE, "a")).text) == f"#{number} acknowledged"
    again = await paging.sms_reply(ALICE, f"ack {number}")
    assert _message_text(again.text) == f"#{number} was already acknowledged by alice"
    assert _message_text((await paging.sms_reply(ALICE, "99A")).text) == "No incident #99"
    assert _message_text((await paging.sms_reply(ALICE, f"{number}R")).text) == (
        f"#{number} resolved"
    )
    assert _message_text((await paging.sms_reply(ALICE, f"{number} a")).text) == (
        f"#{number} is already resolved"
    )
    help_text = _message_text((await paging.sms_reply(ALICE, "what?")).text)
    assert help_text is not None and "Reply" in help_text


async def test_api_acknowledgement_cancels_pending_steps_and_pages(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    ack = await paging.api.post(f"/api/v1/incidents/{number}/acknowledge", json={"by": "alice"})
    assert ack.status_code == 200
    await paging.tick(hours=1)
    assert paging.texts_to(BOB) == []
    assert paging.calls_to(BOB) == []


async def test_resolving_tells_the_people_already_paged(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    await paging.api.post(f"/api/v1/incidents/{number}/resolve", json={"by": "carol"})
    await paging.tick()
    assert paging.texts_to(ALICE)[-1] == f"[Klaxon] #{number} resolved by carol: checkout errors"
    assert paging.texts_to(BOB) == [], "bob was never paged, so he is not told"


async def test_alert_resolution_stops_paging_and_tells_the_paged(paging: Paging) -> None:
    payload = checkout_alert()
    number = await open_incident(paging, payload)
    await paging.tick()
    payload["alerts"][0]["status"] = "resolved"
    payload["alerts"][0]["endsAt"] = "2026-11-26T12:01:00Z"
    payload["status"] = "resolved"
    await paging.api.post("/api/v1/webhooks/alertmanager", json=payload)
    await paging.tick(minutes=30)
    assert paging.texts_to(BOB) == []
    assert "resolved" in paging.texts_to(ALICE)[-1]
    assert (await incident_detail(paging, number))["status"] == "resolved"


async def test_step_with_nobody_on_call_is_skipped_at_once(paging: Paging) -> None:
    # The default policy's first step targets a nights-only schedule; it is noon.
    payload = am_payload(
        [am_alert("d0000000000000001"[:16], severity="critical")], group_key="{}:{other}"
    )
    number = await open_incident(paging, payload)
    await paging.tick()
    assert len(paging.calls_to(CAROL)) == 1, "step 2 fired without waiting out step 1's delay"
    timeline = (await incident_detail(paging, number))["timeline"]
    assert any(e["message"] == "Step 1 skipped: nobody on call" for e in timeline)


async def test_sev4_is_recorded_without_paging(paging: Paging) -> None:
    payload = am_payload(
        [am_alert("e000000000000001", service="checkout", severity="info")], group_key="{}:{info}"
    )
    number = await open_incident(paging, payload)
    await paging.tick(hours=1)
    assert paging.fake.messages == []
    assert paging.fake.calls == []
    timeline = (await incident_detail(paging, number))["timeline"]
    assert any(e["kind"] == "not_paged" for e in timeline)


async def test_several_pages_to_one_person_go_out_as_one_bundle_and_aa_acks_all(
    paging: Paging,
) -> None:
    numbers = [await open_incident(paging, checkout_alert(f"b00000000000000{i}")) for i in range(3)]
    await paging.tick()
    [bundle] = paging.texts_to(ALICE)
    assert bundle.startswith(f"[Klaxon] 3 incidents: #{numbers[0]} #{numbers[1]} #{numbers[2]}")
    reply = await paging.sms_reply(ALICE, "AA")
    for n in numbers:
        assert f"#{n} acknowledged" in (_message_text(reply.text) or "")
        assert (await incident_detail(paging, n))["status"] == "acknowledged"


async def test_a_bundle_lists_its_incidents_by_number_whichever_step_fired_first(
    paging: Paging,
) -> None:
    # The later incidents' steps fall due first, so their pages are written
    # (and numbered) first; steps also fire at once on several connections, in
    # whatever order they commit. The bundle lists the incidents in order.
    numbers = [await open_incident(paging, checkout_alert(f"c00000000000000{i}")) for i in range(3)]
    earlier = paging.clock.now() - timedelta(seconds=1)
    async with paging.app.state.runtime.engine.begin() as conn:
        await conn.execute(
            update(steps_table)
            .where(steps_table.c.incident_number.in_(numbers[1:]))
            .values(due_at=earlier)
        )
    await paging.tick()
    [bundle] = paging.texts_to(ALICE)
    assert bundle.startswith(f"[Klaxon] 3 incidents: #{numbers[0]} #{numbers[1]} #{numbers[2]}")


async def test_permanent_failure_is_on_the_timeline_and_escalation_goes_on(
    paging: Paging,
) -> None:
    paging.fake.fail_next(1, status=400, code=21211)
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert paging.texts_to(ALICE) == []
    await paging.tick(minutes=5)
    assert len(paging.texts_to(BOB)) == 1
    timeline = (await incident_detail(paging, number))["timeline"]
    assert any("failed for good: 21211" in e["message"] for e in timeline)
    await paging.tick(minutes=30)
    assert paging.texts_to(ALICE) == [], "a permanent error is not retried"


async def test_temporary_failure_is_retried_with_backoff_and_sent_once(paging: Paging) -> None:
    paging.fake.fail_next(1, status=500)
    await open_incident(paging, checkout_alert())
    await paging.tick()
    assert paging.texts_to(ALICE) == []
    assert len(paging.fake.requests) == 1
    await paging.tick(seconds=9)
    assert paging.texts_to(ALICE) == []
    await paging.tick(seconds=1)
    assert len(paging.texts_to(ALICE)) == 1
    await paging.tick(seconds=60)
    assert len(paging.texts_to(ALICE)) == 1


async def test_status_callbacks_only_move_forward(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    [sms] = [m for m in paging.fake.messages if m["to"] == ALICE]
    assert (await paging.fake.send_status_callback(sms["sid"], "delivered")).status_code == 204
    assert (await paging.fake.send_status_callback(sms["sid"], "sent")).status_code == 204
    detail = await incident_detail(paging, number)
    deliveries = [e["message"] for e in detail["timeline"] if e["kind"] == "delivery"]
    assert deliveries == ["SMS to alice: delivered"]
    unsigned = await paging.fake.send_status_callback(sms["sid"], "failed", signed=False)
    assert unsigned.status_code == 403
