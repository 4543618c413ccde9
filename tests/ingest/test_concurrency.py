"""Concurrent deliveries on PostgreSQL: an Alertmanager HA pair sends every
notification twice at the same moment, and that must make one incident."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.helpers import am_alert, am_payload, incident, incidents, post

pytestmark = pytest.mark.postgresql_only("row locks and concurrent transactions")


async def _counts_agree(url: str) -> list[tuple[int, int, int]]:
    """Incidents whose stored firing_count differs from their firing alerts."""
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT i.number, i.firing_count, count(a.id) FILTER (WHERE a.status = 'firing') "
                "FROM incidents i LEFT JOIN alerts a ON a.incident_number = i.number "
                "GROUP BY i.number, i.firing_count "
                "HAVING i.firing_count <> count(a.id) FILTER (WHERE a.status = 'firing')"
            )
        )
        mismatched = [(r[0], r[1], r[2]) for r in rows]
    await engine.dispose()
    return mismatched


async def test_identical_concurrent_posts_make_one_incident(
    client: httpx.AsyncClient, db: str
) -> None:
    for round_ in range(25):
        payload = am_payload(
            [am_alert(f"{round_:04x}{i:012x}", instance=f"web-{i}") for i in range(5)],
            group_key=f"{{}}:{{round={round_}}}",
        )
        responses = await asyncio.gather(*(post(client, payload) for _ in range(3)))
        assert [r.status_code for r in responses] == [200, 200, 200]
        assert sum(r.json()["new"] for r in responses) == 5
    listed = await incidents(client, limit=100)
    assert len(listed) == 25
    assert {i["alert_count"] for i in listed} == {5}
    assert await _counts_agree(db) == []


async def test_concurrent_different_alerts_of_one_group_join_one_incident(
    client: httpx.AsyncClient, db: str
) -> None:
    payloads = [am_payload([am_alert(f"{i:016x}", instance=f"web-{i}")]) for i in range(12)]
    responses = await asyncio.gather(*(post(client, p) for p in payloads))
    assert all(r.status_code == 200 for r in responses)
    [only] = await incidents(client)
    assert only["alert_count"] == 12
    assert len((await incident(client, only["number"]))["alerts"]) == 12
    assert await _counts_agree(db) == []


async def test_concurrent_resolution_and_new_alert_keep_counts_consistent(
    client: httpx.AsyncClient, db: str
) -> None:
    for round_ in range(15):
        key = f"{{}}:{{race={round_}}}"
        first = am_alert(f"{round_:04x}000000000001")
        await post(client, am_payload([first], group_key=key))
        resolved = dict(first, status="resolved", endsAt="2026-11-26T11:30:00Z")
        newcomer = am_alert(f"{round_:04x}000000000002")
        responses = await asyncio.gather(
            post(client, am_payload([resolved], group_key=key)),
            post(client, am_payload([newcomer], group_key=key)),
        )
        assert all(r.status_code == 200 for r in responses)
    # Whichever came first, the newcomer is firing in an open incident.
    firing = (await client.get("/api/v1/alerts", params={"status": "firing", "limit": 100})).json()
    assert len(firing["items"]) == 15
    open_numbers = {i["number"] for i in await incidents(client, status="triggered", limit=100)}
    assert {a["incident_number"] for a in firing["items"]} <= open_numbers
    assert await _counts_agree(db) == []
