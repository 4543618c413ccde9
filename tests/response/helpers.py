"""Calling the incident-response API, for its tests."""

from __future__ import annotations

from typing import Any

import httpx

PAYMENTS_REPORT: dict[str, Any] = {
    "title": "Payment Service Degraded",
    "severity": "SEV2",
    "service": "payments",
    "description": "Customers report card payments failing at checkout",
}


async def report(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    resp = await client.post("/api/v1/incidents", json={**PAYMENTS_REPORT, **fields})
    assert resp.status_code == 201, resp.text
    detail: dict[str, Any] = resp.json()
    return detail


async def patch(client: httpx.AsyncClient, number: int, **fields: Any) -> dict[str, Any]:
    resp = await client.patch(f"/api/v1/incidents/{number}", json=fields)
    assert resp.status_code == 200, resp.text
    detail: dict[str, Any] = resp.json()
    return detail


async def post_update(
    client: httpx.AsyncClient, number: int, phase: str, message: str, **fields: Any
) -> dict[str, Any]:
    resp = await client.post(
        f"/api/v1/incidents/{number}/updates", json={"phase": phase, "message": message, **fields}
    )
    assert resp.status_code == 201, resp.text
    update: dict[str, Any] = resp.json()
    return update


async def timeline(client: httpx.AsyncClient, number: int) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/v1/incidents/{number}/timeline")
    assert resp.status_code == 200, resp.text
    events: list[dict[str, Any]] = resp.json()
    return events


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


async def add_note(
    client: httpx.AsyncClient, number: int, text: str, **fields: Any
) -> dict[str, Any]:
    resp = await client.post(f"/api/v1/incidents/{number}/notes", json={"text": text, **fields})
    assert resp.status_code == 201, resp.text
    event: dict[str, Any] = resp.json()
    return event


async def add_action_items(
    client: httpx.AsyncClient, number: int, items: list[tuple[str, str, str]]
) -> None:
    """Each ``(task, owner, due)`` as an action item of ``number``."""
    for task, owner, due in items:
        created = await client.post(
            f"/api/v1/incidents/{number}/action-items",
            json={"task": task, "owner": owner, "due": due},
        )
        assert created.status_code == 201, created.text
