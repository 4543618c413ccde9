"""Retention (issue 13.5): the engine's housekeeping prunes the alerts of
incidents resolved longer ago than ``retention_days`` and the notifications
done longer ago, in bounded batches; incidents and timelines stay."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from app.clock import ManualClock
from app.incidents import retention
from app.models import alerts_table, incidents_table, notifications_table, timeline_table
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import Paging, checkout_alert, open_incident, serve_paging


@pytest.fixture
async def kept_30_days(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> AsyncIterator[Paging]:
    async with serve_paging(db, fake_twilio, clock, retention_days=30) as served:
        yield served


async def count(paging: Paging, table: object, **where: object) -> int:
    query = select(func.count()).select_from(table)  # type: ignore[arg-type]
    for column, value in where.items():
        query = query.where(table.c[column] == value)  # type: ignore[attr-defined]
    async with paging.app.state.runtime.sessions() as session:
        return int((await session.execute(query)).scalar_one())


async def resolved_incident(paging: Paging, fingerprint: str) -> int:
    number = await open_incident(paging, checkout_alert(fingerprint))
    await paging.tick()  # pages alice
    answer = await paging.api.post(f"/api/v1/incidents/{number}/resolve")
    assert answer.status_code == 200, answer.text
    await paging.tick()  # the "resolved" notice
    return number


async def test_history_past_retention_is_pruned_and_the_record_kept(
    kept_30_days: Paging, clock: ManualClock
) -> None:
    paging = kept_30_days
    old = await resolved_incident(paging, "a000000000000001")
    clock.advance(days=20)
    recent = await resolved_incident(paging, "a000000000000002")
    still_open = await open_incident(paging, checkout_alert("a000000000000003"))
    clock.advance(days=15)  # old: resolved 35 days ago; recent: 15; still_open: open
    await paging.tick()
    assert await count(paging, alerts_table, incident_number=old) == 0
    assert await count(paging, alerts_table, incident_number=recent) == 1
    assert await count(paging, alerts_table, incident_number=still_open) == 1
    assert await count(paging, notifications_table, incident_number=old) == 0
    assert await count(paging, notifications_table, incident_number=recent) > 0
    # The record stays: the incident, its timeline, its detail in the API.
    assert await count(paging, incidents_table, number=old) == 1
    assert await count(paging, timeline_table, incident_number=old) > 0
    detail = await paging.api.get(f"/api/v1/incidents/{old}")
    assert detail.status_code == 200
    assert detail.json()["status"] == "resolved"


async def test_an_open_incident_keeps_its_alerts_however_old(
    kept_30_days: Paging, clock: ManualClock
) -> None:
    paging = kept_30_days
    number = await open_incident(paging, checkout_alert())
    clock.advance(days=365)
    await paging.tick()
    assert await count(paging, alerts_table, incident_number=number) == 1


async def test_a_backlog_is_pruned_in_bounded_batches_over_several_passes(
    kept_30_days: Paging, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    paging = kept_30_days
    for i in range(7):
        await resolved_incident(paging, f"b00000000000000{i}")
    clock.advance(days=31)
    monkeypatch.setattr(retention, "BATCH", 2)
    monkeypatch.setattr(retention, "MAX_BATCHES", 2)
    runtime = paging.app.state.runtime
    assert await retention.prune_history(runtime.sessions, clock.now(), 30) > 0
    assert await count(paging, alerts_table) == 3, "one pass: 2 batches of 2 alerts"
    await retention.prune_history(runtime.sessions, clock.now(), 30)
    assert await count(paging, alerts_table) == 0


async def test_retention_of_zero_keeps_everything(paging: Paging, clock: ManualClock) -> None:
    runtime = paging.app.state.runtime
    await resolved_incident(paging, "c000000000000001")
    clock.advance(days=4000)
    assert await retention.prune_history(runtime.sessions, clock.now(), 0) == 0
    assert await count(paging, alerts_table) == 1
