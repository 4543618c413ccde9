"""Acknowledge and resolve: the state changes people make."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.automation.actions import cancel_queued
from app.errors import Conflict
from app.escalation.paging import stop_paging
from app.incidents.locks import locked_incident
from app.incidents.resolution import tell_resolved
from app.metrics import TIME_TO_ACKNOWLEDGE, TIME_TO_RESOLVE
from app.models import incidents_table
from app.response import update_clock
from app.response.roles import default_commander
from app.timeline import event_row, record

Channel = Literal["api", "sms", "voice", "cli", "console", "slack", "mattermost"]


Changed = Literal["acknowledged", "resolved"]


async def _set_status(
    session: AsyncSession, number: int, status: Changed, *, by: str, now: datetime
) -> None:
    """The incident's new status, when and by whom; its paging stops."""
    values = {"status": status, f"{status}_at": now, f"{status}_by": by, "updated_at": now}
    await session.execute(
        update(incidents_table).where(incidents_table.c.number == number).values(values)
    )
    await stop_paging(session, number, now=now)


def _since(created_at: datetime, now: datetime) -> float:
    return max((now - created_at).total_seconds(), 0.0)


async def _record(
    session: AsyncSession,
    number: int,
    kind: Changed,
    *,
    by: str,
    via: Channel,
    now: datetime,
    note: str | None,
    paged: bool,
) -> None:
    """The timeline's line; ``paged=False`` names a responder not paged for it."""
    unpaged = "" if paged else f" (not paged for #{number})"
    message = f"{kind.capitalize()} by {by}{unpaged} via {via}" + (f": {note}" if note else "")
    data = {"via": via} if paged else {"via": via, "paged": False}
    await record(session, [event_row(number, kind, message, at=now, actor=by, data=data)])


async def acknowledge(
    session: AsyncSession,
    number: int,
    *,
    by: str,
    via: Channel,
    now: datetime,
    note: str | None = None,
    paged: bool = True,
) -> bool:
    """Acknowledge; False when it already was. A resolved incident is a conflict.
    ``paged=False``: a responder not paged for it, named so on the timeline."""
    incident = await locked_incident(session, number)
    if incident.status == "resolved":
        raise Conflict(f"#{number} is already resolved")
    if incident.status == "acknowledged":
        return False
    await _set_status(session, number, "acknowledged", by=by, now=now)
    # Whoever acknowledges commands (unless someone does), and owes an update.
    await default_commander(session, number, by, now)
    await update_clock.start(session, number, now)
    TIME_TO_ACKNOWLEDGE.labels(incident.severity).observe(_since(incident.created_at, now))
    await _record(session, number, "acknowledged", by=by, via=via, now=now, note=note, paged=paged)
    return True


async def resolve(
    session: AsyncSession,
    number: int,
    *,
    by: str,
    via: Channel,
    now: datetime,
    note: str | None = None,
    paged: bool = True,
) -> bool:
    """Resolve; False when it already was. Alerts still firing stay attached to
    this incident and do not reopen it; a new episode opens a new incident.
    ``paged`` as for :func:`acknowledge`."""
    incident = await locked_incident(session, number)
    if incident.status == "resolved":
        return False
    await _set_status(session, number, "resolved", by=by, now=now)
    await cancel_queued(session, number, now=now, why=f"resolved by {by}")
    await tell_resolved(session, number, by=by, now=now)
    TIME_TO_RESOLVE.labels(incident.severity).observe(_since(incident.created_at, now))
    await _record(session, number, "resolved", by=by, via=via, now=now, note=note, paged=paged)
    return True
