"""Telling everyone who was told an incident was open that it is resolved,
however it was resolved (an alert, the API or CLI, an SMS or a call), inside
the caller's transaction.

Responders paged for it hear by SMS (:func:`notify_resolved`: also one whose
page was in flight when it resolved). If status updates went out about it and
none said it was resolved, a ``resolved`` update is added in the resolver's
name, so the channel text says so, and texted to the stakeholders who got
an earlier update (a phone that already hears as a responder is not texted
twice).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.escalation.paging import notify_resolved
from app.incidents.locks import locked_incident
from app.models import notifications_table, status_updates_table
from app.response.update_rows import add_update, text_update


async def tell_resolved(session: AsyncSession, number: int, *, by: str, now: datetime) -> None:
    told_as_responders = await notify_resolved(session, number, by=by, now=now)
    u = status_updates_table.c
    latest = (
        await session.execute(
            select(u.phase).where(u.incident_number == number).order_by(u.id.desc()).limit(1)
        )
    ).scalar()
    if latest is None or latest == "resolved":
        return  # nobody was told it was open, or the last word already closed it
    incident = await locked_incident(session, number)
    message = f"Resolved by {by}"
    await add_update(session, incident, "resolved", message, by=by, now=now)
    n = notifications_table.c
    told = await session.execute(
        select(n.responder_name, n.to_number)
        .where(
            n.incident_number == number,
            n.kind == "update",
            n.state.in_(("pending", "sending", "sent")),
        )
        .order_by(n.id)
    )
    people = {phone: name for name, phone in told if phone not in told_as_responders}
    await text_update(
        session,
        incident,
        "resolved",
        message,
        [(name, phone) for phone, name in people.items()],
        kind="resolved",
        now=now,
    )
