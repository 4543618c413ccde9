"""On-call handoffs: at each shift change, the incoming responder gets a summary
of what is still open on the services the schedule covers.

The playbook's handoff: document ongoing issues, transfer context about
alerts, review recent changes, share relevant runbooks. :func:`handoff_summary`
builds that from the incidents (``GET /schedules/{name}/handoff`` shows it);
:func:`send_due_handoffs`, called by the worker's housekeeping
(app/timers/housekeeping.py), texts it.

Sending is durable and happens once. Each schedule has a high-water mark
(``handoff_marks.through``): a handoff whose start lies after the mark and at
or before now is due. The mark moves to now with a compare-and-set in the same
transaction that queues the SMS, so of two replicas (or a retry after a
crash) exactly one queues it; without a handoff nothing is written. A
schedule's first mark is set when it is first seen, so no past handoff is
ever sent; after an outage only the shift still running is handed off (the
ones in between are over).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import insert_for
from app.models import handoff_marks_table, schedules_table
from app.notify import outbox
from app.notify.update_texts import HandoffLine, handoff_sms
from app.oncall import rotation, store
from app.response import changes as change_events
from app.response.handoff_report import (
    HandoffIncident,
    HandoffResolved,
    HandoffSummary,
    incidents_for_handoff,
    render_handoff,
)
from app.rules import RulesFile
from app.transaction import writing

log = logging.getLogger(__name__)

#: How far back a shift's start is looked for.
LOOKBACK = timedelta(days=31)
_TICK = timedelta(microseconds=1)
#: "Resolved during the last shift" when the last shift's start is unknown.
DEFAULT_LAST_SHIFT = timedelta(hours=24)

__all__ = [
    "HandoffIncident",
    "HandoffResolved",
    "HandoffSummary",
    "Shift",
    "current_shift",
    "handoff_summary",
    "send_due_handoffs",
]


@dataclass(frozen=True)
class Shift:
    """The stretch of on-call time running at an instant."""

    incoming: str | None
    start: datetime | None  # None: on call since before LOOKBACK (no handoff in view)
    until: datetime | None
    outgoing: str | None
    outgoing_start: datetime | None


def current_shift(schedule: rotation.Schedule, at: datetime) -> Shift:
    """Who is on call at ``at``, since when (the handoff), and who was before."""
    look = at - LOOKBACK
    stretches: list[list[Any]] = []  # [start, end, responder], same responder merged
    for seg in rotation.render_shifts(schedule, look, at + _TICK):
        if stretches and stretches[-1][1] == seg.start and stretches[-1][2] == seg.responder:
            stretches[-1][1] = seg.end
        else:
            stretches.append([seg.start, seg.end, seg.responder])
    oncall = rotation.who_is_on_call(schedule, at)
    if oncall.responder is None or not stretches or stretches[-1][1] <= at:
        return Shift(None, None, oncall.until, None, None)
    start, _, incoming = stretches[-1]
    outgoing = outgoing_start = None
    if len(stretches) > 1 and stretches[-2][1] == start:
        outgoing, outgoing_start = stretches[-2][2], stretches[-2][0]
        if outgoing_start <= look:
            outgoing_start = None
    return Shift(
        incoming=incoming,
        start=None if start <= look else start,
        until=oncall.until,
        outgoing=outgoing,
        outgoing_start=outgoing_start,
    )


async def handoff_summary(
    session: AsyncSession, rules: RulesFile, name: str, at: datetime
) -> HandoffSummary | None:
    """The handoff of the shift running on schedule ``name`` at ``at``; None if
    there is no such schedule."""
    row = await store.get_schedule(session, name)
    schedule = await store.load_schedule(session, name, ending_after=at - LOOKBACK)
    if row is None or schedule is None:
        return None
    shift = current_shift(schedule, at)
    services: list[str] = list(row.services)
    handed_at = shift.start or at
    since = shift.outgoing_start or handed_at - DEFAULT_LAST_SHIFT
    open_incidents, resolved, changes = await incidents_for_handoff(
        session, rules, services, since=since, until=at
    )
    changes += await change_events.handoff_lines(session, services, since=since, until=at)
    summary = HandoffSummary(
        schedule=name,
        services=services,
        at=at,
        shift_start=shift.start,
        incoming=shift.incoming,
        on_call_until=shift.until,
        outgoing=shift.outgoing,
        open_incidents=open_incidents,
        recent_changes=changes,
        resolved_during_last_shift=resolved,
        text="",
    )
    summary.text = render_handoff(summary)
    return summary


def _sms(summary: HandoffSummary) -> str:
    return handoff_sms(
        schedule=summary.schedule,
        outgoing=summary.outgoing,
        services=summary.services,
        incidents=[
            HandoffLine(i.number, i.severity, i.title, i.status) for i in summary.open_incidents
        ],
        changes=summary.recent_changes,
    )


async def _hand_off(
    sessions: async_sessionmaker[AsyncSession], rules: RulesFile, row: Any, now: datetime
) -> int:
    """Queue the schedule's due handoff, if any, moving its mark; 1 if queued."""
    m = handoff_marks_table.c
    async with writing(sessions) as session:
        mark = (await session.execute(select(m.through).where(m.schedule_id == row.id))).scalar()
        if mark is None:
            await session.execute(
                insert_for(session, handoff_marks_table)
                .values(schedule_id=row.id, through=now, updated_at=now)
                .on_conflict_do_nothing(index_elements=["schedule_id"])
            )
            return 0
        if mark >= now:
            return 0
        schedule = await store.load_schedule(session, row.name, ending_after=now - LOOKBACK)
        if schedule is None:
            return 0
        shift = current_shift(schedule, now)
        if shift.incoming is None or shift.start is None or not mark < shift.start <= now:
            return 0  # no handoff since the mark: nothing to write
        moved = (
            await session.execute(
                update(handoff_marks_table)
                .where(m.schedule_id == row.id, m.through == mark)
                .values(through=now, updated_at=now)
                .returning(m.schedule_id)
            )
        ).first()
        if moved is None:  # another replica handed this shift off
            return 0
        responder = await store.get_responder(session, shift.incoming)
        if responder is None:
            log.warning("handoff on %s: responder %s does not exist", row.name, shift.incoming)
            return 0
        summary = await handoff_summary(session, rules, row.name, now)
        assert summary is not None
        await outbox.enqueue(session, [outbox.to(responder, "handoff", "sms", _sms(summary))], now)
        log.info("handoff on %s to %s queued", row.name, responder.name)
        return 1


async def send_due_handoffs(
    sessions: async_sessionmaker[AsyncSession], rules: RulesFile, now: datetime
) -> int:
    """Queue one SMS per due handoff of every schedule that covers services;
    returns how many were queued."""
    s = schedules_table.c
    async with sessions() as session:
        rows = [
            row
            for row in await session.execute(select(s.id, s.name, s.services).order_by(s.name))
            if row.services
        ]
    queued = 0
    for row in rows:
        queued += await _hand_off(sessions, rules, row, now)
    return queued
