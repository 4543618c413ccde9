"""Action items: created from an incident or its post-mortem, open until done,
and found across incidents when they are overdue."""

from __future__ import annotations

import httpx

from app.clock import ManualClock
from tests.response.helpers import report


async def _item(client: httpx.AsyncClient, number: int, **fields: str) -> dict[str, object]:
    resp = await client.post(f"/api/v1/incidents/{number}/action-items", json=fields)
    assert resp.status_code == 201, resp.text
    item: dict[str, object] = resp.json()
    return item


async def test_an_action_item_is_created_open_and_can_be_done(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = (await report(client))["number"]
    item = await _item(client, number, task="Add index monitoring", owner="alice", due="2026-12-01")
    assert item == {
        "id": item["id"],
        "incident": number,
        "task": "Add index monitoring",
        "owner": "alice",
        "due": "2026-12-01",
        "status": "open",
        "overdue": False,
        "created_by": "admin",
        "created_at": "2026-11-26T12:00:00Z",
        "updated_at": "2026-11-26T12:00:00Z",
        "done_at": None,
    }
    clock.advance(days=1)
    done = await client.patch(f"/api/v1/action-items/{item['id']}", json={"status": "done"})
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert done.json()["done_at"] == "2026-11-27T12:00:00Z"
    reopened = await client.patch(
        f"/api/v1/action-items/{item['id']}", json={"status": "open", "owner": "bob"}
    )
    assert (reopened.json()["status"], reopened.json()["owner"]) == ("open", "bob")
    assert reopened.json()["done_at"] is None
    listed = (await client.get(f"/api/v1/incidents/{number}/action-items")).json()
    assert [i["owner"] for i in listed] == ["bob"]


async def test_overdue_items_are_found_across_incidents(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    first = (await report(client))["number"]
    second = (await report(client, service="search"))["number"]
    late = await _item(client, first, task="Checklist", owner="bob", due_date="2026-11-27")
    today = await _item(client, second, task="Alert on latency", owner="carol", due="2026-11-28")
    later = await _item(client, second, task="Load test", owner="alice", due="2026-12-15")
    clock.set(clock.now().replace(day=28, hour=23))  # due dates are compared in UTC

    async def ids(**params: str) -> list[object]:
        resp = await client.get("/api/v1/action-items", params=params)
        assert resp.status_code == 200, resp.text
        return [i["id"] for i in resp.json()]

    assert await ids(status="open", overdue="true") == [late["id"]]
    assert await ids(overdue="false") == [today["id"], later["id"]]
    assert await ids() == [late["id"], today["id"], later["id"]], "soonest due first"
    assert await ids(owner="carol") == [today["id"]]
    assert await ids(incident=str(second)) == [today["id"], later["id"]]
    await client.patch(f"/api/v1/action-items/{late['id']}", json={"status": "done"})
    assert await ids(overdue="true") == []
    assert await ids(status="done") == [late["id"]]
    listed = (await client.get("/api/v1/action-items", params={"status": "open"})).json()
    assert [i["overdue"] for i in listed] == [False, False]


async def test_bad_action_items_are_refused(client: httpx.AsyncClient) -> None:
    number = (await report(client))["number"]
    url = f"/api/v1/incidents/{number}/action-items"
    no_owner = await client.post(url, json={"task": "x", "due": "2026-12-01"})
    assert no_owner.status_code == 422
    bad_date = await client.post(url, json={"task": "x", "owner": "a", "due": "next week"})
    assert bad_date.status_code == 422
    missing = await client.post(
        "/api/v1/incidents/99/action-items", json={"task": "x", "owner": "a", "due": "2026-12-01"}
    )
    assert missing.status_code == 404
    assert (
        await client.patch("/api/v1/action-items/99", json={"status": "done"})
    ).status_code == 404
    item = await _item(client, number, task="x", owner="a", due="2026-12-01")
    bad_status = await client.patch(f"/api/v1/action-items/{item['id']}", json={"status": "wip"})
    assert bad_status.status_code == 422
    null_owner = await client.patch(f"/api/v1/action-items/{item['id']}", json={"owner": None})
    assert null_owner.status_code == 422
    bad_filter = await client.get("/api/v1/action-items", params={"status": "wip"})
    assert bad_filter.status_code == 422
