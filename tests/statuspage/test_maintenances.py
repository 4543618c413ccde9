"""Scheduled maintenance on the status page, from the maintenance windows with
a public title: Statuspage's v2 shape (an incident's fields, impact
``maintenance``, ``scheduled_for``/``scheduled_until``), scheduled →
in_progress → completed as the clock moves, the ``upcoming`` and ``active``
documents, the components of the window's services, and the HTML list."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from tests.statuspage.conftest import document
from tests.statuspage.test_shapes import EXAMPLE, REQUIRED, shape_errors

# The test clock starts at 2026-11-26 12:00 UTC.
UPGRADE: dict[str, Any] = {
    "name": "pg17 upgrade",
    "reason": "internal reason",
    "starts_at": "2026-11-26T14:00:00Z",
    "ends_at": "2026-11-26T15:00:00Z",
    "services": ["checkout", "payments", "not-on-the-page"],
    "public_title": "Database upgrade",
    "public_description": "Checkout may be slow for a few minutes.",
}


async def _plan(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    resp = await client.post("/api/v1/maintenance", json={**UPGRADE, **changes})
    assert resp.status_code == 201, resp.text
    window: dict[str, Any] = resp.json()
    return window


async def _maintenances(client: httpx.AsyncClient, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await document(client, name))["scheduled_maintenances"]
    return found


def _later(app: FastAPI, clock: ManualClock, **advance: float) -> None:
    clock.advance(**advance)
    app.state.status_cache.invalidate()  # as its max-age would, in real time


async def test_a_public_window_is_scheduled_then_in_progress_then_completed(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    window = await _plan(client)
    assert window["public_title"] == "Database upgrade"
    [planned] = await _maintenances(client, "scheduled-maintenances")
    assert planned["name"] == "Database upgrade"
    assert planned["status"] == "scheduled" and planned["impact"] == "maintenance"
    assert planned["scheduled_for"] == "2026-11-26T14:00:00.000+00:00"
    assert planned["scheduled_until"] == "2026-11-26T15:00:00.000+00:00"
    assert [(c["name"], c["status"]) for c in planned["components"]] == [
        ("Checkout", "operational"),
        ("Payments", "operational"),
    ]
    [first] = planned["incident_updates"]
    assert (first["status"], first["body"]) == (
        "scheduled",
        "Checkout may be slow for a few minutes.",
    )
    assert [m["id"] for m in await _maintenances(client, "scheduled-maintenances/upcoming")] == [
        planned["id"]
    ]
    assert await _maintenances(client, "scheduled-maintenances/active") == []
    summary = await document(client, "summary")
    assert [m["id"] for m in summary["scheduled_maintenances"]] == [planned["id"]]

    _later(app, clock, hours=2, minutes=30)
    [running] = await _maintenances(client, "scheduled-maintenances/active")
    assert running["id"] == planned["id"] and running["status"] == "in_progress"
    assert {c["status"] for c in running["components"]} == {"under_maintenance"}
    assert [u["status"] for u in running["incident_updates"]] == ["in_progress", "scheduled"]
    assert await _maintenances(client, "scheduled-maintenances/upcoming") == []

    _later(app, clock, hours=1)
    [done] = await _maintenances(client, "scheduled-maintenances")
    assert done["status"] == "completed"
    assert done["resolved_at"] == "2026-11-26T15:00:00.000+00:00"
    assert await _maintenances(client, "scheduled-maintenances/active") == []
    assert (await document(client, "summary"))["scheduled_maintenances"] == []


async def test_maintenances_have_the_documented_incident_shape(client: httpx.AsyncClient) -> None:
    await _plan(client)
    await _plan(
        client,
        name="weekly",
        starts_at="2026-11-26T11:00:00Z",
        ends_at=None,
        rrule="FREQ=WEEKLY",
        duration="2h",
    )
    items = await _maintenances(client, "scheduled-maintenances")
    assert len(items) >= 5, "the weekly one: this week's (in progress) and the next 30 days'"
    errors: list[str] = []
    for item in items:
        errors += shape_errors(EXAMPLE["incidents"][0], item, item["id"])
        errors += [f"{item['id']}: {k} missing" for k in REQUIRED["incident"] if k not in item]
        for update in item["incident_updates"]:
            errors += [f"{k} missing" for k in REQUIRED["incident_update"] if k not in update]
    assert errors == []
    assert len({item["id"] for item in items}) == len(items), "one id per occurrence"
    starts = [item["scheduled_for"] for item in items]
    assert starts == sorted(starts, reverse=True)


async def test_a_window_without_a_public_title_is_not_on_the_page(
    client: httpx.AsyncClient,
) -> None:
    await _plan(client, public_title=None, public_description=None)
    assert await _maintenances(client, "scheduled-maintenances") == []
    page = (await client.get("/status", headers={"Authorization": ""})).text
    assert "Scheduled maintenance" not in page


async def test_a_public_description_without_a_title_is_refused(client: httpx.AsyncClient) -> None:
    body = {**UPGRADE, "public_title": None}
    resp = await client.post("/api/v1/maintenance", json=body)
    assert resp.status_code == 422, resp.text
    assert "public_description needs public_title" in resp.text


async def test_the_page_lists_scheduled_and_running_maintenance_not_completed(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    await _plan(client)
    page = (await client.get("/status", headers={"Authorization": ""})).text
    assert "Scheduled maintenance" in page and "Database upgrade" in page
    assert "Checkout may be slow for a few minutes." in page
    assert "Affects: Checkout, Payments" in page
    _later(app, clock, hours=2, minutes=30)
    page = (await client.get("/status", headers={"Authorization": ""})).text
    assert "In progress" in page and "Database upgrade" in page
    _later(app, clock, hours=1)
    page = (await client.get("/status", headers={"Authorization": ""})).text
    assert "Database upgrade" not in page
