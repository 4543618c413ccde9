"""Retention: history older than ``retention_days`` is pruned, a little at a time.

What grows with every alert — the alerts of resolved incidents and the
notifications, and outbound messages, that are done — is deleted once older
than the setting (default 400 days: a year's reports and a margin). Incidents,
their timelines, status updates and post-mortems are kept: they are small,
and they are the record.

Each batch is at most ``BATCH`` rows, found by walking an index in order (the
incidents' ``resolved_at``, the rows' ``(state, due_at)``) and deleted by
primary key in a short transaction of its own, and a pass stops after ``MAX_BATCHES`` of them: row
locks are held for milliseconds and ingest never waits long behind a prune.
A large backlog (retention just turned on) drains over a few passes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import alerts_table, incidents_table, notifications_table, outbound_table
from app.transaction import writing

BATCH = 1000
MAX_BATCHES = 5  # per table and pass
_DONE_NOTIFICATIONS = ("sent", "bundled", "cancelled", "failed")
_DONE_OUTBOUND = ("sent", "failed")


def _expired(cutoff: datetime) -> list[tuple[Table, Select[tuple[int]]]]:
    """Each kind of expired row, oldest first, a batch at a time: each query
    walks an index in order and stops at ``BATCH`` rows, a backlog or not."""
    a, i = alerts_table.c, incidents_table.c
    n, o = notifications_table.c, outbound_table.c
    alerts = (
        select(a.id)
        .join(incidents_table, a.incident_number == i.number)
        .where(i.resolved_at < cutoff, i.status == "resolved")
        .order_by(i.resolved_at)
        .limit(BATCH)
    )
    # One query per state: (state, due_at) is walked in order for each.
    done = [
        (notifications_table, select(n.id).where(n.state == state, n.due_at < cutoff))
        for state in _DONE_NOTIFICATIONS
    ] + [
        (outbound_table, select(o.id).where(o.state == state, o.due_at < cutoff))
        for state in _DONE_OUTBOUND
    ]
    return [(alerts_table, alerts)] + [
        (table, query.order_by(table.c.due_at).limit(BATCH)) for table, query in done
    ]


async def prune_history(
    sessions: async_sessionmaker[AsyncSession], now: datetime, days: int
) -> int:
    """Delete up to ``MAX_BATCHES`` batches of each kind of expired history;
    returns how many rows went. ``days`` of 0 keeps everything."""
    if days <= 0:
        return 0
    cutoff = now - timedelta(days=days)
    total = 0
    for table, expired in _expired(cutoff):
        for _ in range(MAX_BATCHES):
            # The ids first, then the rows by primary key: a DELETE ... IN
            # (subquery) lets the planner hash-join the whole table instead.
            async with writing(sessions) as session:
                ids = list((await session.execute(expired)).scalars())
                if ids:
                    await session.execute(delete(table).where(table.c.id.in_(ids)))
            total += len(ids)
            if len(ids) < BATCH:
                break
    return total
