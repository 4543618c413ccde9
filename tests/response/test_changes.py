"""Change events: PagerDuty's ``/v2/change/enqueue`` (driven with PagerDuty's
own client over real HTTP, then pinned with httpx), the deploy webhook, and
an incident's changes. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pagerduty import EventsApiV2Client

from app.clock import ManualClock
from tests.response.helpers import patch, report
from tests.sources.test_pagerduty import ingest_token, pd_client, served

__all__ = ["pd_client", "served"]

CHANGE = "/v2/change/enqueue"
WEBHOOK = "/api/v1/webhooks/change"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def changes(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/changes", params=params)
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def deploy(
    client: httpx.AsyncClient, token: str, expect: int = 201, **fields: Any
) -> dict[str, Any]:
    body = {"service": "payments", "summary": "Deployment #5678 to production", **fields}
    resp = await client.post(WEBHOOK, json=body, headers=bearer(token))
    assert resp.status_code == expect, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


async def test_pagerduty_client_sends_a_change_routed_to_its_service(
    client: httpx.AsyncClient, pd_client: Any, clock: ManualClock
) -> None:
    events: EventsApiV2Client = pd_client(await ingest_token(client, "ci"))
    await asyncio.to_thread(
        events.send_change_event,
        payload={
            "summary": "Build Success: Increase snapshot create timeout to 30 seconds",
            "source": "acme-build-pipeline",
            "timestamp": "2026-11-26T11:42:58.315+0000",
            "custom_details": {"service": "checkout", "build_number": "2"},
        },
        links=[{"href": "https://ci.example.com/build/2", "text": "Build 2"}],
    )
    [stored] = await changes(client)
    assert stored["service"] == "checkout"  # the route for service="checkout"
    assert stored["summary"] == "Build Success: Increase snapshot create timeout to 30 seconds"
    assert stored["source"] == "acme-build-pipeline"
    assert stored["at"] == "2026-11-26T11:42:58.315000Z"
    assert stored["links"] == [{"href": "https://ci.example.com/build/2", "text": "Build 2"}]
    assert stored["custom_details"] == {"service": "checkout", "build_number": "2"}
    assert (stored["via"], stored["received_by"]) == ("pagerduty", "ci")


async def test_change_enqueue_answers_in_pagerdutys_words(client: httpx.AsyncClient) -> None:
    key = await ingest_token(client)
    no_auth = {"Authorization": ""}
    event = {"routing_key": key, "payload": {"summary": "Config push", "source": "ansible"}}
    resp = await client.post(CHANGE, json=event, headers=no_auth)
    assert resp.status_code == 202, resp.text
    assert resp.json() == {
        "status": "success",
        "message": "Change event processed",
        "service": "default",  # no route names one, and no service detail
    }

    bad = await client.post(CHANGE, json={"routing_key": key, "payload": {}}, headers=no_auth)
    assert bad.status_code == 400
    assert bad.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["'payload.summary' is missing or blank"],
    }
    unknown = await client.post(CHANGE, json={**event, "routing_key": "nope"}, headers=no_auth)
    assert unknown.status_code == 400
    assert "'routing_key' is invalid" in unknown.json()["errors"][0]
    future = {**event, "payload": {"summary": "x", "timestamp": "2026-11-26T13:00:00Z"}}
    late = await client.post(CHANGE, json=future, headers=no_auth)
    assert late.status_code == 400
    assert late.json()["errors"] == [
        "'payload.timestamp' is invalid: it is more than 5 minutes in the future"
    ]
    long = {**event, "payload": {"summary": "x" * 1025}}
    assert (await client.post(CHANGE, json=long, headers=no_auth)).status_code == 400
    nul = {**event, "payload": {"summary": "Deploy\u0000"}}
    refused = await client.post(CHANGE, json=nul, headers=no_auth)
    assert refused.status_code == 400
    assert "NUL" in refused.json()["errors"][0]
    assert len(await changes(client)) == 1  # only the good one


async def test_deploy_webhook_records_a_change_once_per_delivery_time(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    token = await ingest_token(client, "deployer")
    first = await deploy(
        client,
        token,
        version="v5678",
        link="https://ci.example.com/runs/5678",
        who="alice",
        when="2026-11-26T11:30:00Z",
    )
    assert first["service"] == "payments"
    assert first["at"] == "2026-11-26T11:30:00Z"
    assert first["links"] == [{"href": "https://ci.example.com/runs/5678", "text": None}]
    assert (first["via"], first["who"], first["received_by"]) == ("webhook", "alice", "deployer")
    # A retried delivery of the same change is the same change.
    again = await deploy(
        client,
        token,
        expect=200,
        version="v5678",
        link="https://ci.example.com/runs/5678",
        who="alice",
        when="2026-11-26T11:30:00Z",
    )
    assert again["id"] == first["id"]
    # Without a time of its own, a change is dated when it arrives.
    clock.advance(minutes=1)
    bare = await deploy(client, token, summary="Feature flag new-checkout on")
    assert bare["at"] == "2026-11-26T12:01:00Z"
    assert [c["summary"] for c in await changes(client)] == [
        "Deployment #5678 to production",
        "Feature flag new-checkout on",
    ]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"summary": "x" * 1025}, "summary"),
        ({"service": ""}, "service"),
        ({"version": "v" * 201}, "version"),
        ({"who": "alice\nbob"}, "who"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"link": "https://ci.example.com/\u0000"}, "link"),
        ({"summary": "Deploy\u0000"}, "summary"),
        ({"when": "2026-11-26T12:06:00Z"}, "when"),
        ({"when": "2026-08-01T00:00:00Z"}, "when"),
        ({"when": "2026-11-26T11:00:00"}, "when"),  # no time zone
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_deploy_webhook_refuses_bad_fields_by_name_and_writes_nothing(
    client: httpx.AsyncClient, fields: dict[str, Any], named: str
) -> None:
    token = await ingest_token(client)
    resp = await client.post(
        WEBHOOK,
        json={"service": "payments", "summary": "Deploy", **fields},
        headers=bearer(token),
    )
    assert resp.status_code == 422, resp.text
    assert named in str(resp.json()["detail"])
    assert await changes(client) == []


async def test_changes_filter_by_service_and_time(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    token = await ingest_token(client)
    await deploy(client, token, when="2026-11-25T09:00:00Z")
    await deploy(client, token, service="search", when="2026-11-26T10:00:00Z")
    await deploy(client, token, summary="Deploy #5679", when="2026-11-26T11:00:00Z")
    assert [c["summary"] for c in await changes(client, service="payments")] == ["Deploy #5679"]
    since_earlier = await changes(client, service="payments", since="2026-11-25T00:00:00Z")
    assert len(since_earlier) == 2
    assert len(await changes(client, since="2026-11-25T00:00:00Z")) == 3
    bad = await client.get("/api/v1/changes", params={"since": "yesterday"})
    assert bad.status_code == 422


async def test_an_incidents_changes_are_its_services_from_the_hour_before_it(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    token = await ingest_token(client)
    await deploy(client, token, summary="Too early", when="2026-11-26T10:59:00Z")
    await deploy(
        client, token, summary="Deployment #5678 to production", when="2026-11-26T11:30:00Z"
    )
    await deploy(
        client, token, service="search", summary="Search deploy", when="2026-11-26T11:40:00Z"
    )
    await deploy(
        client, token, service="ledger", summary="Ledger migration", when="2026-11-26T11:45:00Z"
    )
    number = (await report(client))["number"]  # payments, opened 12:00
    clock.advance(minutes=5)
    await deploy(client, token, summary="Rollback to #5677", version="v5677", who="bob")

    resp = await client.get(f"/api/v1/incidents/{number}/changes")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["since"] == "2026-11-26T11:00:00Z"
    assert [c["summary"] for c in body["items"]] == [
        "Deployment #5678 to production",
        "Rollback to #5677",
    ]
    assert body["text"][1] == "2026-11-26 12:05 UTC payments: Rollback to #5677 (v5677, by bob)"
    # An affected service brings its changes in.
    await patch(client, number, affected_services=["ledger"])
    again = (await client.get(f"/api/v1/incidents/{number}/changes")).json()
    assert "Ledger migration" in [c["summary"] for c in again["items"]]
    missing = await client.get("/api/v1/incidents/999/changes")
    assert missing.status_code == 404


async def test_the_postmortem_timeline_starts_with_the_deploy(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    token = await ingest_token(client)
    await deploy(client, token, who="alice", when="2026-11-26T11:30:00Z")
    number = (await report(client))["number"]
    resp = await client.get(f"/api/v1/incidents/{number}/postmortem")
    assert resp.status_code == 200, resp.text
    timeline = resp.text.split("## Timeline\n")[1].split("\n## ")[0]
    entries = [line for line in timeline.splitlines() if " - " in line]
    assert entries[0] == "11:30:00 - Deployment #5678 to production"
    assert "alice" not in resp.text


async def test_the_change_window_is_a_setting(
    client: httpx.AsyncClient, clock: ManualClock, app: Any
) -> None:
    token = await ingest_token(client)
    await deploy(client, token, when="2026-11-26T11:30:00Z")
    number = (await report(client))["number"]
    app.state.runtime.settings.changes_window_minutes = 20
    body = (await client.get(f"/api/v1/incidents/{number}/changes")).json()
    assert body["since"] == "2026-11-26T11:40:00Z"
    assert body["items"] == []
