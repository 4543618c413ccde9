"""Whoever was told an incident was open is told when it closes: stakeholders after
a status update, responders whose page was in flight; and the channel text shows
the incident's current status."""

from __future__ import annotations

import asyncio

import pytest

from tests.paging import ALICE, Paging, checkout_alert, open_incident
from tests.response.helpers import post_update, timeline

DANA = "+15551230009"


async def _resolve(paging: Paging, number: int, how: str, payload: dict[str, object]) -> None:
    if how == "api":  # the CLI's `klaxon incidents resolve` calls this too
        resp = await paging.api.post(f"/api/v1/incidents/{number}/resolve", json={"by": "carol"})
        assert resp.status_code == 200, resp.text
    elif how == "sms":
        await paging.sms_reply(ALICE, f"{number}R")
    else:
        alert = payload["alerts"][0]  # type: ignore[index]
        alert["status"], alert["endsAt"] = "resolved", "2026-11-26T12:05:00Z"
        payload["status"] = "resolved"
        resp = await paging.api.post("/api/v1/webhooks/alertmanager", json=payload)
        assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("how", ["api", "sms", "alert"])
async def test_stakeholders_told_an_incident_was_open_hear_it_resolved(
    paging: Paging, how: str
) -> None:
    await paging.api.put(
        "/api/v1/services/checkout/stakeholders",
        json=[{"name": "dana", "phone": DANA, "opt_in": True}],
    )
    payload = checkout_alert()
    number = await open_incident(paging, payload)
    await paging.tick()
    await post_update(paging.api, number, "investigating", "Looking into checkout errors")
    await paging.tick(minutes=1)
    await post_update(paging.api, number, "monitoring", "Fix deployed, watching")
    await paging.tick(minutes=1)
    assert len(paging.texts_to(DANA)) == 2
    await _resolve(paging, number, how, payload)
    await paging.tick(minutes=1)

    texts = paging.texts_to(DANA)
    assert len(texts) == 3, texts
    assert texts[-1].startswith(f"[Klaxon] #{number} checkout errors - Resolved (SEV 2): Resolved")
    text = (await paging.api.get(f"/api/v1/incidents/{number}/updates/latest?format=text")).text
    assert "Status: Resolved" in text.splitlines(), text
    listed = (await paging.api.get(f"/api/v1/incidents/{number}/updates")).json()
    assert [u["phase"] for u in listed] == ["investigating", "monitoring", "resolved"]
    assert paging.texts_to(ALICE)[-1].startswith(f"[Klaxon] #{number} resolved")


async def test_a_resolved_update_tells_stakeholders_once(paging: Paging) -> None:
    await paging.api.put(
        "/api/v1/services/checkout/stakeholders",
        json=[{"name": "dana", "phone": DANA, "opt_in": True}],
    )
    number = await open_incident(paging, checkout_alert())
    await post_update(paging.api, number, "investigating", "Looking into it")
    await paging.tick(minutes=1)
    await post_update(paging.api, number, "resolved", "Rolled back")
    await paging.tick(minutes=1)
    assert [t.split(" - ")[1][:8] for t in paging.texts_to(DANA)] == ["Investig", "Resolved"]


async def test_nobody_told_of_an_incident_hears_of_its_resolution(paging: Paging) -> None:
    await paging.api.put(
        "/api/v1/services/checkout/stakeholders",
        json=[{"name": "dana", "phone": DANA, "opt_in": True}],
    )
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    await paging.api.post(f"/api/v1/incidents/{number}/resolve", json={"by": "carol"})
    await paging.tick(minutes=1)
    assert paging.texts_to(DANA) == [], "no status update went out: there is nothing to close"
    resp = await paging.api.get(f"/api/v1/incidents/{number}/updates/latest")
    assert resp.status_code == 404


async def test_a_responder_whose_page_was_in_flight_hears_it_resolved(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    paging.fake.set_delay(0.5)
    sending = asyncio.create_task(paging.tick())
    await paging.fake.wait_for_requests(1)  # Twilio has alice's page; its outcome is not in
    resp = await paging.api.post(f"/api/v1/incidents/{number}/resolve", json={"by": "carol"})
    assert resp.status_code == 200, resp.text
    await sending
    paging.fake.set_delay(0)
    await paging.tick()
    texts = paging.texts_to(ALICE)
    assert len(texts) == 2, texts
    assert texts[-1] == f"[Klaxon] #{number} resolved by carol: checkout errors"
    events = await timeline(paging.api, number)
    assert "SMS resolved notice sent to alice" in [e["message"] for e in events]


async def test_the_channel_text_of_a_reopened_incident_does_not_say_resolved(
    paging: Paging,
) -> None:
    def check(status: str) -> dict[str, object]:
        return {"name": "cart", "status": status, "labels": {"service": "checkout"}}

    url = "/api/v1/webhooks/healthcheck"
    number = (await paging.api.post(url, json=check("down"))).json()["incidents"][0]
    await post_update(paging.api, number, "investigating", "Cart checks failing")
    await paging.api.post(url, json=check("up"))
    latest = f"/api/v1/incidents/{number}/updates/latest?format=text"
    assert "Status: Resolved" in (await paging.api.get(latest)).text.splitlines()
    assert (await paging.api.post(url, json=check("down"))).json()["incidents"] == [number]
    assert "Status: Reopened" in (await paging.api.get(latest)).text.splitlines()
