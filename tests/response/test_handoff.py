"""On-call handoffs: at a shift change the incoming responder gets an SMS of
what is still open on the schedule's services, exactly once; the same summary
is at GET /schedules/{name}/handoff."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.notify.sender import make_sender
from app.worker import Worker
from tests.paging import ALICE, BOB, CAROL, Paging, checkout_alert, open_incident
from tests.response.helpers import patch, post_update, report

ROTATION: dict[str, Any] = {
    "time_zone": "UTC",
    "services": ["checkout"],
    "layers": [
        {
            "name": "daily",
            "participants": ["alice", "bob"],
            "shift": "1d",
            "start": "2026-11-01T09:00:00",
        }
    ],
}
ROTATION_URL = "/api/v1/schedules/checkout-rotation"


def _handoffs(paging: Paging, number: str) -> list[str]:
    return [t for t in paging.texts_to(number) if t.startswith("[Klaxon] Handoff")]


async def _rotation_with_an_open_incident(paging: Paging) -> int:
    """It is Thursday 12:00 UTC; bob has been on call since 09:00."""
    assert (await paging.api.put(ROTATION_URL, json=ROTATION)).status_code == 201
    await paging.tick()  # the handoff mark starts now: no past handoff is ever sent
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    await paging.api.post(f"/api/v1/incidents/{number}/acknowledge", json={"by": "bob"})
    await patch(
        paging.api,
        number,
        recent_changes="Deploy 5678 at 11:50",
        workaround="Retry the payment",
        impact="50% of checkouts failing",
    )
    await post_update(paging.api, number, "identified", "Bad deploy; rolling back")
    return number


async def test_the_incoming_responder_gets_the_handoff_at_the_shift_change(
    paging: Paging,
) -> None:
    number = await _rotation_with_an_open_incident(paging)
    assert _handoffs(paging, ALICE) == []
    await paging.tick(hours=20, minutes=59)
    assert _handoffs(paging, ALICE) == [], "not before the shift changes"
    await paging.tick(minutes=1)
    assert _handoffs(paging, ALICE) == [
        "[Klaxon] Handoff: you are now on call for checkout-rotation, taking over from bob. "
        f"1 open incident on checkout: #{number} SEV2 checkout errors (acknowledged). "
        f"Changes: #{number}: Deploy 5678 at 11:50"
    ]
    handoff = next(m for m in paging.fake.messages if str(m["body"]).startswith("[Klaxon] Hand"))
    delivered = await paging.fake.send_status_callback(handoff["sid"], "delivered")
    assert delivered.status_code == 204, "a handoff's delivery is recorded (it has no timeline)"
    await paging.tick(minutes=1)
    await paging.tick(hours=12)
    assert len(_handoffs(paging, ALICE)) == 1, "once per handoff"
    assert _handoffs(paging, BOB) == []
    # The next day it is bob's turn again; the incident is resolved by then.
    await paging.api.post(f"/api/v1/incidents/{number}/resolve")
    await paging.tick(hours=12)
    assert _handoffs(paging, BOB) == [
        "[Klaxon] Handoff: you are now on call for checkout-rotation, taking over from alice. "
        "No open incidents on checkout."
    ]
    assert _handoffs(paging, CAROL) == [], "a schedule that covers no services hands off nothing"


async def test_two_replicas_send_the_handoff_once(paging: Paging) -> None:
    await _rotation_with_an_open_incident(paging)
    runtime = paging.app.state.runtime
    other = Worker(runtime, make_sender(runtime.settings), owner="replica-b")
    paging.clock.advance(hours=21)
    try:
        await asyncio.gather(paging.engine.run_due(), other.run_due())
        await asyncio.gather(paging.engine.run_due(), other.run_due())
    finally:
        await other.stop()
    assert len(_handoffs(paging, ALICE)) == 1


async def test_after_an_outage_only_the_running_shift_is_handed_off(paging: Paging) -> None:
    await _rotation_with_an_open_incident(paging)
    # Down from Thursday noon to Sunday noon: three shift changes passed.
    await paging.engine.stop()
    paging.clock.advance(days=3)
    restarted = Worker(paging.app.state.runtime, make_sender(paging.app.state.runtime.settings))
    try:
        await restarted.run_due()
    finally:
        await restarted.stop()
    assert len(_handoffs(paging, ALICE)) == 1, "alice is on call since Sunday 09:00"
    assert _handoffs(paging, BOB) == []


async def test_the_handoff_summary_as_json_and_text(paging: Paging) -> None:
    number = await _rotation_with_an_open_incident(paging)
    other = (await report(paging.api, service="payments"))["number"]
    await paging.api.post(f"/api/v1/incidents/{other}/resolve")
    earlier = (await report(paging.api, service="checkout", title="Slow cart"))["number"]
    await paging.api.post(f"/api/v1/incidents/{earlier}/resolve")
    await paging.tick(hours=22)
    resp = await paging.api.get(f"{ROTATION_URL}/handoff")
    assert resp.status_code == 200
    summary = resp.json()
    assert summary["schedule"] == "checkout-rotation"
    assert summary["services"] == ["checkout"]
    assert (summary["incoming"], summary["outgoing"]) == ("alice", "bob")
    assert summary["shift_start"] == "2026-11-27T09:00:00Z"
    assert summary["on_call_until"] == "2026-11-28T09:00:00Z"
    [item] = summary["open_incidents"]
    assert item["number"] == number
    assert item["latest_update"] == "Identified: Bad deploy; rolling back"
    assert item["runbook_url"] == "https://runbooks.example/checkout"
    # The SEV2's update was due at 13:00; the engine's tick at 10:00 reminded bob.
    assert (
        item["last_on_timeline"] == "2026-11-27 10:00:00 UTC - Reminder notice sent to bob by SMS"
    )
    assert summary["recent_changes"] == [f"#{number}: Deploy 5678 at 11:50"]
    assert [r["number"] for r in summary["resolved_during_last_shift"]] == [earlier]
    text = (await paging.api.get(f"{ROTATION_URL}/handoff", params={"format": "text"})).text
    assert text == summary["text"]
    assert text == (
        "Handoff: checkout-rotation (checkout) at 2026-11-27 10:00 UTC\n"
        "On call: alice since 2026-11-27 09:00 UTC, until 2026-11-28 09:00 UTC\n"
        "Taking over from: bob\n"
        "\n"
        "Ongoing issues (1):\n"
        f"- #{number} SEV 2 checkout errors [acknowledged by bob] - checkout, "
        "started 2026-11-26 12:00 UTC\n"
        "  Latest update: Identified: Bad deploy; rolling back\n"
        "  Impact: 50% of checkouts failing\n"
        "  Workaround: Retry the payment\n"
        "  Runbook: https://runbooks.example/checkout\n"
        "  Last on its timeline: 2026-11-27 10:00:00 UTC - Reminder notice sent to bob by SMS\n"
        "\n"
        "Recent changes:\n"
        f"- #{number}: Deploy 5678 at 11:50\n"
        "\n"
        "Resolved during the last shift (1):\n"
        f"- #{earlier} SEV 2 Slow cart, resolved 2026-11-26 12:00 UTC"
    )


async def test_handoff_at_a_given_time_and_of_an_unknown_schedule(
    client: httpx.AsyncClient,
) -> None:
    from tests.paging import ONCALL

    assert (await client.post("/api/v1/oncall-config", json=ONCALL)).status_code == 200
    assert (await client.put(ROTATION_URL, json=ROTATION)).status_code == 201
    at = await client.get(f"{ROTATION_URL}/handoff", params={"at": "2026-11-30T08:00:00Z"})
    body = at.json()
    assert (body["incoming"], body["outgoing"]) == ("alice", "bob")
    assert body["open_incidents"] == []
    assert "Ongoing issues: none open on checkout." in body["text"]
    nights = (await client.get("/api/v1/schedules/nights-only/handoff")).json()
    assert nights["incoming"] is None, "nobody is on call at noon"
    assert nights["text"].splitlines()[1] == "On call: nobody"
    assert (await client.get("/api/v1/schedules/nope/handoff")).status_code == 404
