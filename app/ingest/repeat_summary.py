"""Deduplicated repeats on the timeline, without touching the webhook's hot path.

The webhook only counts a repeat (``alerts.occurrences``, one statement; see
``app.ingest.repeats``). Off that path, the engine's housekeeping calls
:func:`summarize_repeats`, which appends to each incident's timeline one
``repeats`` event telling how many repeats arrived since the last one, at most
once per :data:`SUMMARY_EVERY`. The count already told is kept per incident
and moved with a compare-and-set, so two replicas never tell the same repeats.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import chunked, insert_for
from app.models import alerts_table, incidents_table, repeat_summaries_table
from app.timeline import event_row, record
from app.transaction import writing

#: At most one repeats event per incident this often.
SUMMARY_EVERY = timedelta(minutes=10)
#: Incidents resolved this recently still get their last repeats told.
AFTER_RESOLUTION = timedelta(hours=1)


def alert_repeats() -> ColumnElement[int]:
    """Per alert episode: the notifications that repeated it. ``occurrences``
    also counts the first one and, for an episode resolved by a notification,
    that one."""
    a = alerts_table.c
    return case(
        (a.status != "resolved", a.occurrences - 1),
        (a.occurrences >= 2, a.occurrences - 2),
        else_=0,
    )


async def _repeat_counts(session: AsyncSession, now: datetime) -> list[Any]:
    """Per incident open (or resolved within the hour): repeats in all, and the
    last time an alert of it was seen."""
    a, i = alerts_table.c, incidents_table.c
    return list(
        await session.execute(
            select(
                a.incident_number,
                func.sum(alert_repeats()).label("repeats"),
                func.max(a.last_seen_at).label("last_seen"),
            )
            .join(incidents_table, i.number == a.incident_number)
            .where(or_(i.status != "resolved", i.resolved_at >= now - AFTER_RESOLUTION))
            .group_by(a.incident_number)
            .order_by(a.incident_number)
        )
    )


async def _claim(
    session: AsyncSession, wanted: dict[int, tuple[Any, int]], now: datetime
) -> set[int]:
    """Move each incident's told count from what we read to its new total, in
    a statement per slice of new incidents and one per slice of known ones
    (not one per incident: a hundred open incidents made this pass a hundred
    round trips long, beside the engine's pages, issue 13); the incidents
    whose count moved. One another replica moved first is not among them."""
    r = repeat_summaries_table.c
    moved: set[int] = set()
    new = [(n, total) for n, (told, total) in wanted.items() if told is None]
    for part in chunked(new):
        rows = await session.execute(
            insert_for(session, repeat_summaries_table)
            .values([{"incident_number": n, "counted": t, "counted_at": now} for n, t in part])
            .on_conflict_do_nothing(index_elements=["incident_number"])
            .returning(r.incident_number)
        )
        moved.update(rows.scalars())
    known = [(n, told.counted, total) for n, (told, total) in wanted.items() if told is not None]
    for slice_ in chunked(known):
        rows = await session.execute(
            update(repeat_summaries_table)
            .where(tuple_(r.incident_number, r.counted).in_([(n, c) for n, c, _ in slice_]))
            .values(
                counted=case({n: t for n, _, t in slice_}, value=r.incident_number),
                counted_at=now,
            )
            .returning(r.incident_number)
        )
        moved.update(rows.scalars())
    return moved


async def summarize_repeats(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Append the repeats events that are due; returns how many."""
    written = 0
    async with writing(sessions) as session:
        counts = await _repeat_counts(session, now)
        if not counts:
            return 0
        r = repeat_summaries_table.c
        told = {
            row.incident_number: row
            for row in await session.execute(
                select(repeat_summaries_table).where(
                    r.incident_number.in_([c.incident_number for c in counts])
                )
            )
        }
        due: dict[int, tuple[Any, int]] = {}
        for count in counts:
            total = int(count.repeats or 0)
            before = told.get(count.incident_number)
            already = before.counted if before is not None else 0
            if total <= already:
                continue
            if before is not None and now - before.counted_at < SUMMARY_EVERY:
                continue
            due[count.incident_number] = (before, total)
        moved = await _claim(session, due, now) if due else set()
        events: list[dict[str, Any]] = []
        for count in counts:
            if count.incident_number not in moved:
                continue
            before, total = due[count.incident_number]
            already = before.counted if before is not None else 0
            new = total - already
            times = "once" if new == 1 else f"{new} times"
            message = f"Alerts repeated {times} (deduplicated"
            message += f"; {total} repeats in all)" if already else ")"
            events.append(
                event_row(
                    count.incident_number,
                    "repeats",
                    message,
                    # When the last of them arrived; never before the last summary.
                    at=max(count.last_seen, before.counted_at) if before else count.last_seen,
                    actor="klaxon",
                    data={"repeats": new, "total": total},
                )
            )
        await record(session, events)
        written = len(events)
    return written
