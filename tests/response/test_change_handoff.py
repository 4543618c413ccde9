"""The handoff summary lists the changes on the schedule's services during the
last shift ("review recent changes", the playbook's handoff). On SQLite and
PostgreSQL."""

from __future__ import annotations

import httpx

from app.clock import ManualClock
from tests.response.test_handoff import ROTATION as SCHEDULE
from tests.sources.test_pagerduty import ingest_token


async def test_handoff_lists_changes_on_its_services_during_the_last_shift(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    for name, phone in (("alice", "+15551230001"), ("bob", "+15551230002")):
        made = await client.put(f"/api/v1/responders/{name}", json={"phone": phone})
        assert made.status_code in (200, 201), made.text
    made = await client.put("/api/v1/schedules/rotation", json=SCHEDULE)
    assert made.status_code == 201, made.text
    headers = {"Authorization": f"Bearer {await ingest_token(client)}"}
    for body in (
        {"service": "checkout", "summary": "Before the last shift", "when": "2026-11-25T08:00:00Z"},
        {
            "service": "checkout",
            "summary": "Deployment #5678",
            "version": "v5678",
            "who": "bob",
            "when": "2026-11-26T11:30:00Z",
        },
        {"service": "search", "summary": "Not covered", "when": "2026-11-26T11:40:00Z"},
    ):
        resp = await client.post("/api/v1/webhooks/change", json=body, headers=headers)
        assert resp.status_code == 201, resp.text

    # 2026-11-27 09:00: alice takes over from bob, on call since the 26th 09:00.
    at = "2026-11-27T09:00:00Z"
    summary = (await client.get("/api/v1/schedules/rotation/handoff", params={"at": at})).json()
    assert summary["recent_changes"] == [
        "2026-11-26 11:30 UTC checkout: Deployment #5678 (v5678, by bob)"
    ]
    text = await client.get(
        "/api/v1/schedules/rotation/handoff", params={"at": at, "format": "text"}
    )
    assert "- 2026-11-26 11:30 UTC checkout: Deployment #5678 (v5678, by bob)" in text.text
