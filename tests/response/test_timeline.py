"""A truthful timeline: times to the second, a step's sends folded into its
one line, confirmed deliveries left out, stakeholder notices shown as such,
and notes that may be back-dated without moving what Klaxon recorded. On
SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from app.clock import ManualClock
from tests.paging import ALICE, Paging, checkout_alert, open_incident
from tests.response.helpers import post_update, report, timeline

DANA = "+15551230009"


async def _lines(api: httpx.AsyncClient, number: int) -> list[str]:
    resp = await api.get(f"/api/v1/incidents/{number}/timeline.txt")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return resp.text.splitlines()


async def test_a_step_is_one_line_and_routine_sends_are_folded(paging: Paging) -> None:
    await paging.api.put(
        "/api/v1/services/checkout/stakeholders",
        json=[{"name": "dana", "phone": DANA, "opt_in": True}],
    )
    paging.clock.advance(seconds=2)  # 12:00:02
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    sid = paging.fake.messages[0]["sid"]
    assert (await paging.fake.send_status_callback(sid, "delivered")).status_code == 204
    paging.clock.advance(minutes=1, seconds=3)  # 12:01:05
    await paging.sms_reply(ALICE, f"{number}A")
    await post_update(paging.api, number, "identified", "Rolling back", by="alice")
    await paging.tick()
    lines = await _lines(paging.api, number)
    assert lines == [
        "2026-11-26 (UTC)",
        "12:00:02 - Incident opened: checkout errors (SEV2, service checkout)",
        "12:00:02 - Alert fired: checkout errors",
        "12:00:02 - Escalation policy checkout-oncall started",
        "12:00:02 - Step 1: paged alice by SMS",
        "12:01:05 - Acknowledged by alice via sms",
        "12:01:05 - Status update (Identified): Rolling back",
        "12:01:05 - Stakeholder notice (status update) sent to 1 stakeholder by SMS",
    ]
    recorded = [e["message"] for e in await timeline(paging.api, number)]
    assert "SMS page sent to alice" in recorded, "the events themselves stay as recorded"
    assert "SMS to alice: delivered" in recorded


async def test_a_failed_delivery_is_shown(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    sid = paging.fake.messages[0]["sid"]
    await paging.fake.send_status_callback(sid, "undelivered", error_code=30003)
    lines = await _lines(paging.api, number)
    assert "12:00:00 - SMS to alice: undelivered (error 30003)" in lines


async def test_a_back_dated_note_is_shown_at_its_time_and_marked(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = (await report(client, by="carol"))["number"]  # 12:00:00
    clock.advance(minutes=22, seconds=10)  # 12:22:10
    back = await client.post(
        f"/api/v1/incidents/{number}/notes",
        json={"text": "Deploy #5678 went out", "at": "2026-11-26T11:55:00Z", "by": "alice"},
    )
    assert back.status_code == 201, back.text
    assert back.json()["at"] == "2026-11-26T12:22:10Z", "recorded when it was added"
    assert back.json()["happened_at"] == "2026-11-26T11:55:00Z"
    now = await client.post(f"/api/v1/incidents/{number}/notes", json={"text": "Rolled back"})
    assert now.json()["happened_at"] is None
    lines = await _lines(client, number)
    assert lines[1:] == [
        "11:55:00 (added 12:22:10 by alice) - Deploy #5678 went out",
        "12:00:00 - Incident reported: Payment Service Degraded (SEV2, service payments)",
        "12:00:00 - Escalation policy default started",
        "12:22:10 - Rolled back",
    ]
    recorded = await timeline(client, number)
    assert [e["message"] for e in recorded][-2:] == ["Deploy #5678 went out", "Rolled back"], (
        "the recorded order stays"
    )
    markdown = (await client.get(f"/api/v1/incidents/{number}/postmortem.md")).text
    assert "11:55:00 (added 12:22:10) - Note: Deploy #5678 went out" in markdown
    assert "alice" not in markdown


async def test_a_note_in_the_future_or_long_before_is_refused(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = (await report(client))["number"]  # 12:00:00
    url = f"/api/v1/incidents/{number}/notes"
    for at, words in (
        ("2026-11-26T12:01:01Z", "in the future"),
        ("2026-11-25T11:59:59Z", "more than a day before"),
    ):
        refused = await client.post(url, json={"text": "x", "at": at})
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"].startswith("at: ") and words in refused.json()["detail"]
    skewed = await client.post(url, json={"text": "clock ahead", "at": "2026-11-26T12:00:59Z"})
    assert skewed.status_code == 201, "a minute of skew is allowed"
    assert skewed.json()["happened_at"] is None, "and it is not back-dated"
    a_day = await client.post(url, json={"text": "the day before", "at": "2026-11-25T12:00:00Z"})
    assert a_day.status_code == 201
    bad = await client.post(url, json={"text": "x", "at": "yesterday"})
    assert bad.status_code == 422 and "at" in bad.text
    texts = [e["message"] for e in await timeline(client, number)]
    assert "x" not in texts, "nothing refused is written"
