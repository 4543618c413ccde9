"""Status updates: the channel text, the list, resolution by update, and the
stakeholders who get each update by SMS."""

from __future__ import annotations

import httpx

from app.clock import ManualClock
from tests.paging import ALICE, Paging
from tests.response.helpers import kinds, patch, post_update, report, timeline

DANA, ERIN = "+15551230009", "+15551230010"


async def test_the_text_update_is_exactly_the_playbook_format(client: httpx.AsyncClient) -> None:
    number = (await report(client))["number"]
    await patch(
        client,
        number,
        impact="50% of payment requests failing",
        started_at="2024-01-15T14:30:00Z",
    )
    await post_update(client, number, "investigating", "Looking at the payments API")
    resp = await client.get(f"/api/v1/incidents/{number}/updates/latest", params={"format": "text"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.text == (
        f"Incident #{number} - Payment Service Degraded\n"
        "Status: Investigating\n"
        "Severity: SEV 2\n"
        "Impact: 50% of payment requests failing\n"
        "Started: 2024-01-15 14:30 UTC\n"
        "Next update: 13:00 UTC"
    ), "declared at 12:00, a SEV2 is due its next update an hour after this one"


async def test_json_gives_the_same_fields(client: httpx.AsyncClient, clock: ManualClock) -> None:
    number = (await report(client))["number"]
    await patch(client, number, affected_customers=200)
    clock.advance(minutes=5)
    await post_update(client, number, "identified", "Bad deploy; rolling back", by="alice")
    latest = (await client.get(f"/api/v1/incidents/{number}/updates/latest")).json()
    assert latest == {
        "id": latest["id"],
        "incident": number,
        "title": "Payment Service Degraded",
        "phase": "identified",
        "status": "Identified",
        "severity": "SEV2",
        "impact": "200 customers affected",
        "started_at": "2026-11-26T12:00:00Z",
        "message": "Bad deploy; rolling back",
        "by": "alice",
        "at": "2026-11-26T12:05:00Z",
        "text": (
            f"Incident #{number} - Payment Service Degraded\nStatus: Identified\n"
            "Severity: SEV 2\nImpact: 200 customers affected\nStarted: 2026-11-26 12:00 UTC\n"
            "Next update: 13:05 UTC"
        ),
        "roles": None,
        "next_update_at": "2026-11-26T13:05:00Z",
    }


async def test_without_impact_the_update_says_it_is_being_assessed(
    client: httpx.AsyncClient,
) -> None:
    number = (await report(client))["number"]
    update = await post_update(client, number, "investigating", "On it")
    assert "Impact: Being assessed" in update["text"]


async def test_updates_are_listed_in_order_and_keep_what_they_said(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = (await report(client, severity="SEV3"))["number"]
    await post_update(client, number, "investigating", "Looking")
    clock.advance(minutes=10)
    await patch(client, number, severity="SEV2")
    await post_update(client, number, "identified", "Found it")
    updates = (await client.get(f"/api/v1/incidents/{number}/updates")).json()
    assert [(u["phase"], u["severity"]) for u in updates] == [
        ("investigating", "SEV3"),
        ("identified", "SEV2"),
    ]
    events = [e for e in await timeline(client, number) if e["kind"] == "status_update"]
    assert [e["message"] for e in events] == [
        "Status update (Investigating): Looking",
        "Status update (Identified): Found it",
    ]


async def test_a_resolved_update_resolves_the_incident(client: httpx.AsyncClient) -> None:
    number = (await report(client))["number"]
    await post_update(client, number, "monitoring", "Error rate back to normal")
    await post_update(client, number, "resolved", "Fixed by rollback", by="alice")
    detail = (await client.get(f"/api/v1/incidents/{number}")).json()
    assert detail["status"] == "resolved"
    assert detail["resolved_by"] == "alice"
    assert kinds(await timeline(client, number))[-2:] == ["status_update", "resolved"]
    late = await client.post(
        f"/api/v1/incidents/{number}/updates",
        json={"phase": "investigating", "message": "again?"},
    )
    assert late.status_code == 409
    again = await client.post(
        f"/api/v1/incidents/{number}/updates",
        json={"phase": "resolved", "message": "Root cause fixed too"},
    )
    assert again.status_code == 201


async def test_no_update_yet_is_404_and_a_bad_phase_422(client: httpx.AsyncClient) -> None:
    number = (await report(client))["number"]
    resp = await client.get(f"/api/v1/incidents/{number}/updates/latest")
    assert resp.status_code == 404
    assert "no status update" in resp.json()["detail"]
    bad = await client.post(
        f"/api/v1/incidents/{number}/updates", json={"phase": "panicking", "message": "x"}
    )
    assert bad.status_code == 422
    assert (await client.get("/api/v1/incidents/99/updates")).status_code == 404


async def test_stakeholders_are_replaced_and_listed(client: httpx.AsyncClient) -> None:
    url = "/api/v1/services/payments/stakeholders"
    put = await client.put(
        url,
        json=[
            {"name": "Dana (Support)", "phone": "+1 555 123 0009", "opt_in": True},
            {"name": "Erin", "phone": ERIN},
        ],
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["service"] == "payments"
    assert [(s["name"], s["phone"], s["opt_in"]) for s in body["stakeholders"]] == [
        ("Dana (Support)", DANA, True),
        ("Erin", ERIN, False),
    ]
    again = await client.put(
        url, json={"stakeholders": [{"name": "Erin", "phone": ERIN, "opt_in": True}]}
    )
    assert [(s["name"], s["opt_in"]) for s in again.json()["stakeholders"]] == [("Erin", True)]
    assert (await client.get(url)).json() == again.json()
    other = (await client.get("/api/v1/services/search/stakeholders")).json()
    assert other == {"service": "search", "stakeholders": []}


async def test_bad_stakeholders_are_refused(client: httpx.AsyncClient) -> None:
    url = "/api/v1/services/payments/stakeholders"
    bad_phone = await client.put(url, json=[{"name": "Dana", "phone": "555-0009"}])
    assert bad_phone.status_code == 422
    twice = await client.put(
        url, json=[{"name": "Dana", "phone": DANA}, {"name": "Dana", "phone": ERIN}]
    )
    assert twice.status_code == 400
    assert "listed twice" in twice.json()["detail"]
    assert (await client.get(url)).json()["stakeholders"] == []


async def test_opted_in_stakeholders_get_each_update_by_sms(paging: Paging) -> None:
    await paging.api.put(
        "/api/v1/services/checkout/stakeholders",
        json=[
            {"name": "dana", "phone": DANA, "opt_in": True},
            {"name": "erin", "phone": ERIN, "opt_in": False},
        ],
    )
    await paging.api.put(
        "/api/v1/services/payments/stakeholders",
        json=[{"name": "dana-again", "phone": DANA, "opt_in": True}],
    )
    number = (await report(paging.api, service="checkout"))["number"]
    await paging.tick()
    await patch(
        paging.api,
        number,
        impact="50% of payment requests failing",
        affected_services=["payments"],
    )
    await post_update(paging.api, number, "identified", "Bad deploy, rolling back")
    await paging.tick()
    assert paging.texts_to(DANA) == [
        f"[Klaxon] #{number} Payment Service Degraded - Identified (SEV 2): Bad deploy, "
        "rolling back. Impact: 50% of payment requests failing"
    ], "one SMS per person, though a stakeholder of two affected services"
    assert paging.texts_to(ERIN) == [], "erin did not opt in"
    # A stakeholder's reply acts on nothing.
    await paging.sms_reply(DANA, f"{number}A")
    assert (await paging.api.get(f"/api/v1/incidents/{number}")).json()["status"] == "triggered"
    await post_update(paging.api, number, "resolved", "Rolled back")
    await paging.tick()
    assert len(paging.texts_to(DANA)) == 2
    assert "Resolved" in paging.texts_to(DANA)[-1]
    events = await timeline(paging.api, number)
    assert "SMS update notice sent to dana" in [e["message"] for e in events]
    assert paging.texts_to(ALICE)[-1].startswith(f"[Klaxon] #{number} resolved")
