"""Reminders of missed status updates: a durable timer the worker runs.

An open incident whose update cadence has passed since its clock started
(:mod:`app.response.update_clock`) owes an update. Its communications lead,
else its commander, else whoever acknowledged it, gets one reminder SMS, and
the timeline says the update was missed; nobody is reminded again until the
next update starts the clock again. A resolved incident owes nothing.

The reminder is claimed by compare-and-set on the clock's row (``reminded_at``
from null to now, for the start it was due from), in the transaction that
queues the SMS and writes the timeline: across replicas and restarts, one
reminder per missed update. Nothing here commits but its own transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import is_unavailable
from app.models import incidents_table, update_clocks_table
from app.notify import outbox
from app.notify.outbox import Outgoing
from app.notify.update_texts import update_reminder_sms
from app.oncall.store import get_responder
from app.response.roles import current_roles
from app.response.update_clock import due_after
from app.response.update_rows import severity_label
from app.rules import RulesFile
from app.timeline import event_row, record
from app.transaction import writing

log = logging.getLogger(__name__)
ACTOR = "klaxon"


class _Waiting(NamedTuple):
    """An open incident's update clock not yet reminded, with what its due
    time and its reminder need from the incident."""

    incident_number: int
    since_at: datetime
    severity: str
    title: str
    acknowledged_by: str | None


async def _waiting(session: AsyncSession) -> list[_Waiting]:
    """Clocks of open incidents not yet reminded, with what their due time needs."""
    c, i = update_clocks_table.c, incidents_table.c
    rows = await session.execute(
        select(c.incident_number, c.since_at, i.severity, i.title, i.acknowledged_by)
        .join(incidents_table, i.number == c.incident_number)
        .where(c.reminded_at.is_(None), i.status != "resolved")
    )
    return [_Waiting(*row) for row in rows]


async def next_due(session: AsyncSession, rules: RulesFile) -> datetime | None:
    """When the next reminder falls due, for the worker's sleep."""
    dues = [
        due
        for row in await _waiting(session)
        if (due := due_after(rules, row.severity, row.since_at)) is not None
    ]
    return min(dues, default=None)


async def _claim(session: AsyncSession, row: _Waiting, now: datetime) -> bool:
    c = update_clocks_table.c
    claimed = await session.execute(
        update(update_clocks_table)
        .where(
            c.incident_number == row.incident_number,
            c.since_at == row.since_at,
            c.reminded_at.is_(None),
        )
        .values(reminded_at=now)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


async def _remind(
    session: AsyncSession, rules: RulesFile, row: _Waiting, due: datetime, now: datetime
) -> None:
    number = row.incident_number
    roles = await current_roles(session, number)
    choices = (
        (roles.comms, "communications lead"),
        (roles.commander, "commander"),
        (row.acknowledged_by, "acknowledged it"),
    )
    who, role = next(((name, role) for name, role in choices if name), (None, None))
    responder = None if who is None else await get_responder(session, who)
    missed = f"Status update due at {due:%H:%M:%S} UTC missed"
    if responder is None:
        reminded = (
            "; nobody to remind"
            if who is None
            else f"; {who} ({role}) is not a responder, so nobody was texted"
        )
    else:
        minutes = (rules.update_cadence_for(row.severity) or 0) // 60
        body = update_reminder_sms(
            number=number,
            title=row.title,
            severity=severity_label(row.severity),
            due=f"{due:%H:%M} UTC",
            every_minutes=minutes,
        )
        await outbox.enqueue(
            session,
            [
                Outgoing(
                    kind="reminder",
                    channel="sms",
                    to_number=responder.phone,
                    responder_name=responder.name,
                    responder_id=responder.id,
                    incident_number=number,
                    body=body,
                )
            ],
            now,
        )
        reminded = f"; reminded {who} ({role}) by SMS"
    data = {"due": due.isoformat(), "reminded": responder.name if responder else None}
    await record(
        session,
        [event_row(number, "update_missed", missed + reminded, at=now, actor=ACTOR, data=data)],
    )


async def send_due_reminders(
    sessions: async_sessionmaker[AsyncSession], rules: RulesFile, now: datetime
) -> int:
    """Remind of every update now overdue, once each; returns how many. A
    failure here is logged and never holds back the worker's pages (a database
    that is down is the worker's to handle)."""
    try:
        return await _send_due(sessions, rules, now)
    except Exception as exc:
        if is_unavailable(exc):
            raise
        log.exception("update reminders failed")
        return 0


async def _send_due(
    sessions: async_sessionmaker[AsyncSession], rules: RulesFile, now: datetime
) -> int:
    sent = 0
    async with writing(sessions) as session:
        for row in await _waiting(session):
            due = due_after(rules, row.severity, row.since_at)
            if due is None or due > now or not await _claim(session, row, now):
                continue
            await _remind(session, rules, row, due, now)
            sent += 1
    return sent
