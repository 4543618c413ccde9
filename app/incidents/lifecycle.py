"""Acknowledge and resolve: the state changes people make."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.escalation.paging import notify_resolved, stop_paging
from app.incidents.locks import locked_incident
from app.metrics import TIME_TO_ACKNOWLEDGE, TIME_TO_RESOLVE
from app.models import incidents_table
from app.timeline import event_row, record

Channel = Literal["api", "sms", "voice", "cli"]


async def acknowledge(
    session: AsyncSession,
    number: int,
    *,
    by: str,
    via: Channel,
    now: datetime,
    note: str | None = None,
) -> bool:
    """Acknowledge; False when it already was. A resolved incident is a conflict."""
    incident = await locked_incident(session, number)
    if incident.status == "resolved":
        raise Conflict(f"#{number} is already resolved")
    if incident.status == "acknowledged":
        return False
    await session.execute(
        update(incidents_table)
        .where(incidents_table.c.number == number)
        .values(status="acknowledged", acknowledged_at=now, acknowledged_by=by, updated_at=now)
    )
    await stop_paging(session, number, now=now)
    TIME_TO_ACKNOWLEDGE.labels(incident.severity).observe(
        max((now - incident.created_at).total_seconds(), 0.0)
    )
    message = f"Acknowledged by {by} via {via}" + (f": {note}" if note else "")
    await record(
        session,
        [event_row(number, "acknowledged", message, at=now, actor=by, data={"via": via})],
    )
    return True


async def resolve(
    session: AsyncSession,
    number: int,
    *,
    by: str,
    via: Channel,
    now: datetime,
    note: str | None = None,
) -> bool:
    """Resolve; False when it already was. Alerts still firing stay attached to
    this incident and do not reopen it; a new episode opens a new incident."""
    incident = await locked_incident(session, number)
    if incident.status == "resolved":
        return False
    await session.execute(
        update(incidents_table)
        .where(incidents_table.c.number == number)
        .values(status="resolved", resolved_at=now, resolved_by=by, updated_at=now)
    )
    await stop_paging(session, number, now=now)
    await notify_resolved(session, number, by=by, now=now)
    TIME_TO_RESOLVE.labels(incident.severity).observe(
        max((now - incident.created_at).total_seconds(), 0.0)
    )
    message = f"Resolved by {by} via {via}" + (f": {note}" if note else "")
    await record(
        session, [event_row(number, "resolved", message, at=now, actor=by, data={"via": via})]
    )
    return True
