"""The maintenance API: plan, read, end, delete, preview; bad input is a 4xx
naming what is wrong, with nothing written."""

from __future__ import annotations

from typing import Any

import httpx

from tests.paging import ALICE, Paging, checkout_alert, open_incident

WINDOW: dict[str, Any] = {
    "name": "db upgrade",
    "reason": "PostgreSQL 17 upgrade",
    "time_zone": "Europe/Berlin",
    "starts_at": "2026-11-26T13:00:00",  # wall time in Berlin: 12:00 UTC
    "ends_at": "2026-11-26T16:00:00",
    "matchers": ['env="prod"'],
    "services": ["checkout"],
}


async def test_plan_read_end_and_delete_a_window(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/maintenance", json=WINDOW)
    assert created.status_code == 201, created.text
    window = created.json()
    assert window["starts_at"] == "2026-11-26T12:00:00Z"
    assert window["ends_at"] == "2026-11-26T15:00:00Z"
    assert window["author"] == "admin"
    assert window["active"] is True
    assert window["current_or_next"] == {
        "start": "2026-11-26T12:00:00Z",
        "end": "2026-11-26T15:00:00Z",
    }
    listed = (await client.get("/api/v1/maintenance")).json()
    assert [w["name"] for w in listed] == ["db upgrade"]
    got = await client.get(f"/api/v1/maintenance/{window['id']}")
    assert got.json() == window

    ended = (await client.post(f"/api/v1/maintenance/{window['id']}/end")).json()
    assert ended["active"] is False and ended["ended_at"] == "2026-11-26T12:00:00Z"
    assert ended["current_or_next"] is None

    assert (await client.delete(f"/api/v1/maintenance/{window['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/maintenance/{window['id']}")).status_code == 404
    assert (await client.delete(f"/api/v1/maintenance/{window['id']}")).status_code == 404


async def test_a_second_window_of_the_same_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/maintenance", json=WINDOW)).status_code == 201
    again = await client.post("/api/v1/maintenance", json=WINDOW)
    assert again.status_code == 409
    assert "db upgrade" in again.json()["detail"]


async def test_bad_windows_are_422_naming_the_problem(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"ends_at": "2026-11-26T12:00:00"}, "ends_at must be after starts_at"),
        ({"rrule": "FREQ=WEEKLY"}, "rrule and duration, not ends_at"),
        ({"time_zone": "Nowhere/City"}, "unknown IANA time zone"),
        ({"matchers": ["not a matcher"], "services": []}, "cannot parse matcher"),
        ({"reason": ""}, "reason"),
        ({"starts_at": 1700000000}, "not a number"),
    ]
    for changes, says in cases:
        resp = await client.post("/api/v1/maintenance", json={**WINDOW, **changes})
        assert resp.status_code == 422, (changes, resp.text)
        assert says in resp.text, (changes, resp.text)
    assert (await client.get("/api/v1/maintenance")).json() == []


async def test_preview_names_firing_alerts_and_the_shifts_it_touches(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert(env="prod"))
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1
    other = checkout_alert("c0ffee0000000002", env="staging")
    other["groupKey"] = "{}:{staging}"
    await open_incident(paging, other)
    resp = await paging.api.post("/api/v1/maintenance/preview", json=WINDOW)
    assert resp.status_code == 200, resp.text
    preview = resp.json()
    assert [(a["incident_number"], a["labels"]["env"]) for a in preview["firing_alerts"]] == [
        (number, "prod")
    ]
    [occurrence] = preview["occurrences"]
    assert occurrence["start"] == "2026-11-26T12:00:00Z"
    assert {(s["schedule"], s["responder"]) for s in occurrence["shifts"]} == {
        ("checkout-primary", "alice")
    }
    assert (await paging.api.get("/api/v1/maintenance")).json() == [], "a preview saves nothing"
