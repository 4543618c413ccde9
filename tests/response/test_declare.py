"""Incidents people report: opened, routed and paged like one from an alert.

API tests run on SQLite and PostgreSQL; the paging ones drive the engine with
the fake Twilio of tests/escalation.
"""

from __future__ import annotations

import httpx

from tests.paging import ALICE, CAROL, Paging
from tests.response.helpers import report, timeline


async def test_a_report_opens_an_incident_routed_by_its_service(
    client: httpx.AsyncClient,
) -> None:
    detail = await report(client, service="checkout", by="support-desk")
    assert detail["number"] == 1
    assert detail["status"] == "triggered"
    assert detail["severity"] == "SEV2"
    assert detail["service"] == "checkout"
    assert detail["policy"] == "checkout-oncall", "the checkout route of the rules names it"
    assert detail["labels"] == {"service": "checkout"}
    assert detail["description"] == "Customers report card payments failing at checkout"
    assert detail["alerts"] == []
    assert detail["started_at"] == detail["created_at"]
    first, second = detail["timeline"]
    assert first["kind"] == "triggered"
    assert first["actor"] == "support-desk"
    assert first["message"] == (
        "Incident reported: Payment Service Degraded (SEV2, service checkout)"
    )
    assert first["data"]["origin"] == "report"
    assert second["kind"] == "escalation_started"
    assert second["message"] == "Escalation policy checkout-oncall started"


async def test_a_report_without_a_matching_route_takes_the_default_policy(
    client: httpx.AsyncClient,
) -> None:
    detail = await report(client, service="search")
    assert (detail["service"], detail["policy"]) == ("search", "default")
    listed = (await client.get("/api/v1/incidents", params={"service": "search"})).json()
    assert [i["number"] for i in listed["items"]] == [detail["number"]]


async def test_reports_never_merge_into_one_incident(client: httpx.AsyncClient) -> None:
    first = await report(client)
    second = await report(client)
    assert first["number"] != second["number"]
    assert (await client.get("/api/v1/incidents")).json()["items"][0]["status"] == "triggered"


async def test_a_report_with_a_bad_field_is_422_and_opens_nothing(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.post(
        "/api/v1/incidents", json={"title": "x", "severity": "SEV9", "service": "payments"}
    )
    assert resp.status_code == 422
    assert ["body", "severity"] in [e["loc"] for e in resp.json()["detail"]]
    missing = await client.post("/api/v1/incidents", json={"severity": "SEV2"})
    assert missing.status_code == 422
    assert (await client.get("/api/v1/incidents")).json()["items"] == []


async def test_a_read_token_cannot_report(client: httpx.AsyncClient) -> None:
    secret = (await client.post("/api/v1/tokens", json={"name": "ro", "scope": "read"})).json()
    resp = await client.post(
        "/api/v1/incidents",
        json={"title": "x", "severity": "SEV3", "service": "payments"},
        headers={"Authorization": f"Bearer {secret['token']}"},
    )
    assert resp.status_code == 403


async def test_a_reported_incident_pages_the_on_call_like_an_alert(paging: Paging) -> None:
    detail = await report(paging.api, service="checkout")
    number = detail["number"]
    await paging.tick()
    assert paging.texts_to(ALICE) == [
        f"[Klaxon] SEV2 #{number} Payment Service Degraded (checkout). "
        f"Reply {number}A to ack, {number}R to resolve."
    ]
    reply = await paging.sms_reply(ALICE, f"{number}A")
    assert reply.status_code == 200
    events = await timeline(paging.api, number)
    assert [e["kind"] for e in events][:4] == [
        "triggered",
        "escalation_started",
        "escalated",
        "notified",
    ]
    assert events[-1]["message"] == "Acknowledged by alice via sms"


async def test_a_sev4_report_is_recorded_without_paging(paging: Paging) -> None:
    detail = await report(paging.api, service="checkout", severity="SEV4")
    await paging.tick(hours=1)
    assert paging.fake.messages == []
    assert "not_paged" in [e["kind"] for e in await timeline(paging.api, detail["number"])]
    assert paging.texts_to(CAROL) == []
