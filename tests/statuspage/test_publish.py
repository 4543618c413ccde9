"""Publishing: an incident is public only once someone publishes it, with the
components, impact and text they choose; resolving frees its components."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.clock import ManualClock
from tests.statuspage.conftest import (
    component_status,
    document,
    public_update,
    publish,
    report,
)

ALL_OPERATIONAL = {
    "Shopping": "operational",
    "Checkout": "operational",
    "Payments": "operational",
    "File storage": "operational",
}


async def test_an_incident_is_not_public_until_someone_publishes_it(
    client: httpx.AsyncClient,
) -> None:
    await report(client, severity="SEV1")
    summary = await document(client, "summary")
    assert summary["incidents"] == []
    assert component_status(summary) == ALL_OPERATIONAL
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert "Internal title" not in (await client.get("/status")).text


async def test_publishing_shows_the_components_and_the_public_text(
    client: httpx.AsyncClient,
) -> None:
    number = await report(client, severity="SEV2")
    answer = await publish(client, number, components={"checkout": "partial_outage"})
    assert answer["impact"] == "major"  # SEV2's default
    assert answer["components"] == {"checkout": "partial_outage"}
    summary = await document(client, "summary")
    assert component_status(summary) == {
        **ALL_OPERATIONAL,
        "Shopping": "partial_outage",  # a group shows its worst member
        "Checkout": "partial_outage",
    }
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    [incident] = summary["incidents"]
    assert incident["name"] == "Slow checkout"
    assert incident["status"] == "investigating"
    assert [u["body"] for u in incident["incident_updates"]] == [
        "We are looking into slow checkouts."
    ]
    assert [c["name"] for c in incident["components"]] == ["Checkout"]
    kinds = [e["kind"] for e in (await client.get(f"/api/v1/incidents/{number}/timeline")).json()]
    assert "published" in kinds


@pytest.mark.parametrize(
    ("severity", "impact"),
    [("SEV1", "critical"), ("SEV2", "major"), ("SEV3", "minor"), ("SEV4", "none")],
)
async def test_a_sev_gives_the_default_impact(
    client: httpx.AsyncClient, severity: str, impact: str
) -> None:
    number = await report(client, severity=severity)
    assert (await publish(client, number))["impact"] == impact


async def test_the_impact_can_be_chosen_and_changed(client: httpx.AsyncClient) -> None:
    number = await report(client, severity="SEV1")
    assert (await publish(client, number, impact="minor"))["impact"] == "minor"
    changed = await public_update(client, number, "identified", "Found it", impact="major")
    assert changed["impact"] == "major"
    assert (await document(client, "incidents"))["incidents"][0]["impact"] == "major"


async def test_updates_use_the_status_words_and_resolving_frees_the_components(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    first = await report(client)
    second = await report(client, service="payments")
    await publish(
        client, first, components={"checkout": "major_outage", "payments": "degraded_performance"}
    )
    await publish(client, second, components={"payments": "partial_outage"})
    clock.advance(minutes=10)
    await public_update(client, first, "identified", "A bad deploy")
    await public_update(client, first, "monitoring", "Rolled back")
    statuses = component_status(await document(client, "components"))
    assert statuses["Checkout"] == "major_outage"
    assert statuses["Payments"] == "partial_outage"  # the worse of the two holders

    resolved = await public_update(client, first, "resolved", "All good")
    assert resolved["components"] == {"checkout": "operational", "payments": "operational"}
    statuses = component_status(await document(client, "components"))
    assert statuses["Checkout"] == "operational"
    assert statuses["Payments"] == "partial_outage"  # the second incident still holds it
    unresolved = (await document(client, "incidents/unresolved"))["incidents"]
    assert [i["name"] for i in unresolved] == ["Slow checkout"]
    listed = (await document(client, "incidents"))["incidents"]
    done = next(i for i in listed if i["status"] == "resolved")
    assert [u["status"] for u in done["incident_updates"]] == [
        "resolved",
        "monitoring",
        "identified",
        "investigating",
    ]
    assert done["resolved_at"] is not None and done["monitoring_at"] is not None


async def test_refusals_name_what_is_wrong(client: httpx.AsyncClient) -> None:
    number = await report(client)
    resp = await client.post(
        f"/api/v1/incidents/{number}/public/updates", json={"status": "identified", "body": "x"}
    )
    assert resp.status_code == 404 and "publish it first" in resp.json()["detail"]
    resp = await client.post(
        f"/api/v1/incidents/{number}/public",
        json={"name": "n", "body": "b", "components": {"billing": "major_outage"}},
    )
    assert resp.status_code == 422 and "'billing'" in resp.json()["detail"]
    resp = await client.post(
        f"/api/v1/incidents/{number}/public",
        json={"name": "n", "body": "b", "components": {"checkout": "on_fire"}},
    )
    assert resp.status_code == 422 and "components" in resp.text
    for blank in ({"name": "   ", "body": "b"}, {"name": "n", "body": " \n "}):
        resp = await client.post(f"/api/v1/incidents/{number}/public", json=blank)
        assert resp.status_code == 422 and "must not be blank" in resp.text
    resp = await client.post("/api/v1/incidents/999/public", json={"name": "n", "body": "b"})
    assert resp.status_code == 404
    assert (await document(client, "incidents"))["incidents"] == []  # nothing half-written

    await publish(client, number)
    again = await client.post(f"/api/v1/incidents/{number}/public", json={"name": "n", "body": "b"})
    assert again.status_code == 409
    await public_update(client, number, "resolved", "Fixed")
    late = await client.post(
        f"/api/v1/incidents/{number}/public/updates", json={"status": "identified", "body": "x"}
    )
    assert late.status_code == 409


async def test_a_read_token_sees_but_cannot_publish(client: httpx.AsyncClient) -> None:
    number = await report(client)
    token = (await client.post("/api/v1/tokens", json={"name": "reader", "scope": "read"})).json()
    reader = {"Authorization": f"Bearer {token['token']}"}
    refused = await client.post(
        f"/api/v1/incidents/{number}/public", json={"name": "n", "body": "b"}, headers=reader
    )
    assert refused.status_code == 403
    await publish(client, number)
    seen = await client.get(f"/api/v1/incidents/{number}/public", headers=reader)
    assert seen.status_code == 200
    assert seen.json()["updates"][0]["author"] == "admin"


async def test_two_publications_at_once_make_one_public_incident(
    client: httpx.AsyncClient,
) -> None:
    number = await report(client)
    answers = await asyncio.gather(
        *(
            client.post(f"/api/v1/incidents/{number}/public", json={"name": f"n{i}", "body": "b"})
            for i in range(4)
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    [incident] = (await document(client, "incidents"))["incidents"]
    assert len(incident["incident_updates"]) == 1
