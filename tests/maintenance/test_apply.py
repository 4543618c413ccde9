"""Maintenance windows in the apply file (``maintenance:``), upserted by name
like the rest of the document."""

from __future__ import annotations

from typing import Any

import httpx

WINDOWS: dict[str, Any] = {
    "maintenance": [
        {
            "name": "sunday patching",
            "reason": "OS patches",
            "time_zone": "Europe/Berlin",
            "starts_at": "2026-11-29T02:00:00",
            "rrule": "FREQ=WEEKLY;BYDAY=SU",
            "duration": "2h",
            "services": ["storage"],
        }
    ]
}


async def _apply(client: httpx.AsyncClient, document: dict[str, Any]) -> list[dict[str, Any]]:
    resp = await client.post("/api/v1/oncall-config", json=document)
    assert resp.status_code == 200, resp.text
    changes: list[dict[str, Any]] = resp.json()["changes"]
    return changes


async def test_apply_creates_then_leaves_then_updates_a_window(client: httpx.AsyncClient) -> None:
    assert await _apply(client, WINDOWS) == [
        {"kind": "maintenance", "name": "sunday patching", "change": "created"}
    ]
    [window] = (await client.get("/api/v1/maintenance")).json()
    assert window["current_or_next"]["start"] == "2026-11-29T01:00:00Z"  # 02:00 CET
    assert window["author"] == "admin"

    assert [c["change"] for c in await _apply(client, WINDOWS)] == ["unchanged"]

    longer = {"maintenance": [{**WINDOWS["maintenance"][0], "duration": "3h"}]}
    assert [c["change"] for c in await _apply(client, longer)] == ["updated"]
    [window] = (await client.get("/api/v1/maintenance")).json()
    assert window["duration"] == 3 * 3600


async def test_duplicate_window_names_in_a_document_are_refused(client: httpx.AsyncClient) -> None:
    twice = {"maintenance": WINDOWS["maintenance"] * 2}
    resp = await client.post("/api/v1/oncall-config", json=twice)
    assert resp.status_code == 422
    assert "sunday patching" in resp.text
    assert (await client.get("/api/v1/maintenance")).json() == []
