from __future__ import annotations

import httpx

from tests.conftest import load_fixture


async def test_firing_group_opens_one_incident(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/api/v1/webhooks/alertmanager", json=load_fixture("01-firing-group-HighLatency-2alerts.json")
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["new"] == 2
    listing = (await client.get("/api/v1/incidents")).json()
    assert len(listing["items"]) == 1
    assert listing["items"][0]["alert_count"] == 2
