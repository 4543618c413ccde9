"""The outgoing webhooks' mark and its gaps (app/automation/webhooks.py).

On PostgreSQL a transaction takes its timeline ids before it commits, so the
forwarder can read id N+2 while N+1 is still to come. Here the late commit is
played with explicit ids on both backends: the row after the gap is written
first, the one in the gap later. The forwarder must queue the late one when it
comes, each event once, and give up on a gap only once it has been seen for
``GAP_SECONDS`` (ids of a transaction that rolled back never come)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from app.automation import webhooks
from app.clock import ManualClock
from app.models import outbound_table, timeline_table, webhook_marks_table
from app.runtime import Runtime
from tests.automation.harness import serve_automation
from tests.fakes.executor import FakeExecutor
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import Paging, checkout_alert, open_incident

FP = "c0ffee00000000b1"
EVERY_EVENT = ", ".join(webhooks.EVENTS.values())


@pytest.fixture
async def paging(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[Paging]:
    async with FakeExecutor(answer="") as receiver:
        hook = f"webhooks:\n  - url: {receiver.url}/hooks\n    events: [{EVERY_EVENT}]\n"
        async with serve_automation(
            db, fake_twilio, clock, tmp_path, receiver, extra=hook
        ) as served:
            yield served


def _runtime(paging: Paging) -> Runtime:
    runtime: Runtime = paging.app.state.runtime
    return runtime


async def _start(paging: Paging) -> tuple[int, int]:
    """An incident, its events forwarded: (its number, the mark)."""
    number = await open_incident(paging, checkout_alert(FP))
    await webhooks.forward_events(_runtime(paging))
    mark = await _mark(paging)
    async with _runtime(paging).sessions() as session:
        latest = (await session.execute(select(func.max(timeline_table.c.id)))).scalar()
    assert mark == latest
    return number, mark


async def _mark(paging: Paging) -> int:
    m = webhook_marks_table.c
    async with _runtime(paging).sessions() as session:
        found = (
            await session.execute(select(m.last_event_id).where(m.name == webhooks.MARK))
        ).scalar_one()
    return int(found)


async def _event(paging: Paging, number: int, event_id: int, kind: str, at: datetime) -> None:
    """A timeline row with the id its transaction took before it committed."""
    runtime = _runtime(paging)
    async with runtime.sessions() as session, session.begin():
        row = {"id": event_id, "incident_number": number, "at": at, "kind": kind}
        row |= {"actor": "alice", "message": f"{kind} (late commit test)", "data": {}}
        await session.execute(insert(timeline_table).values(row))
        if not runtime.settings.is_sqlite:  # keep the sequence ahead of the ids used here
            await session.execute(
                text("SELECT setval(pg_get_serial_sequence('timeline_events', 'id'), :n)"),
                {"n": event_id + 10},
            )


async def _queued(paging: Paging, event_id: int) -> int:
    o = outbound_table.c
    async with _runtime(paging).sessions() as session:
        count = await session.execute(
            select(func.count())
            .select_from(outbound_table)
            .where(o.kind == webhooks.KIND, o.key.like(f"{event_id}:%"))
        )
    return int(count.scalar_one())


async def test_a_late_commit_in_a_young_gap_is_forwarded_once(paging: Paging) -> None:
    number, mark = await _start(paging)
    now = paging.clock.now()
    await _event(paging, number, mark + 2, "acknowledged", now)
    await webhooks.forward_events(_runtime(paging))
    assert await _mark(paging) == mark  # it waits below the gap
    assert await _queued(paging, mark + 2) == 1  # what follows the gap still goes

    paging.clock.advance(seconds=5)
    await _event(paging, number, mark + 1, "status_update", now)
    await webhooks.forward_events(_runtime(paging))
    assert await _mark(paging) == mark + 2
    assert (await _queued(paging, mark + 1), await _queued(paging, mark + 2)) == (1, 1)


async def test_a_backdated_row_after_the_gap_does_not_skip_it(paging: Paging) -> None:
    """A row's ``at`` is not when it was committed (a repeat summary carries the
    alert's last sighting): an old-looking row after a gap says nothing of how
    long the gap has been there."""
    number, mark = await _start(paging)
    now = paging.clock.now()
    await _event(paging, number, mark + 2, "repeats", now - timedelta(minutes=10))
    await webhooks.forward_events(_runtime(paging))
    assert await _mark(paging) == mark

    await _event(paging, number, mark + 1, "acknowledged", now)
    await webhooks.forward_events(_runtime(paging))
    assert await _queued(paging, mark + 1) == 1
    assert await _mark(paging) == mark + 2


async def test_a_gap_that_never_fills_is_given_up_once_seen_for_the_gap_seconds(
    paging: Paging,
) -> None:
    number, mark = await _start(paging)
    await _event(paging, number, mark + 2, "acknowledged", paging.clock.now())
    await webhooks.forward_events(_runtime(paging))
    assert await _mark(paging) == mark
    paging.clock.advance(seconds=webhooks.GAP_SECONDS - 1)
    await webhooks.forward_events(_runtime(paging))
    assert await _mark(paging) == mark
    paging.clock.advance(seconds=1)
    await webhooks.forward_events(_runtime(paging))
    assert await _mark(paging) == mark + 2
    assert await _queued(paging, mark + 2) == 1  # queued once, on the first pass


async def test_a_second_gap_is_timed_from_when_it_is_seen(paging: Paging) -> None:
    number, mark = await _start(paging)
    await _event(paging, number, mark + 2, "acknowledged", paging.clock.now())
    await webhooks.forward_events(_runtime(paging))
    paging.clock.advance(seconds=webhooks.GAP_SECONDS)
    await _event(paging, number, mark + 4, "resolved", paging.clock.now())
    await webhooks.forward_events(_runtime(paging))
    assert await _mark(paging) == mark + 2  # past the first gap, waiting at the second
    await _event(paging, number, mark + 3, "status_update", paging.clock.now())
    await webhooks.forward_events(_runtime(paging))
    assert await _mark(paging) == mark + 4
    assert [await _queued(paging, mark + i) for i in (2, 3, 4)] == [1, 1, 1]
