"""Writing a status update and texting it: the part of :mod:`app.response.updates`
that resolving an incident uses too (so it sits below ``lifecycle``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Incident, status_updates_table
from app.notify import outbox
from app.notify.outbox import Outgoing
from app.notify.update_texts import status_update_sms
from app.response.roles import current_roles
from app.timeline import event_row, record

#: The words of the Impact line while nobody has said what the impact is.
IMPACT_UNKNOWN = "Being assessed"


def severity_label(severity: str) -> str:
    """``SEV2`` as people write it: ``SEV 2``."""
    if severity.startswith("SEV") and severity[3:].isdigit():
        return f"SEV {severity[3:]}"
    return severity


def phase_label(phase: str) -> str:
    return phase.capitalize()


def _number(incident: Incident) -> int:
    """A stored incident's number (the model has None only for one not yet stored)."""
    assert incident.number is not None
    return incident.number


def impact_of(impact: str | None, affected_customers: str | None) -> str | None:
    """The impact in words: the responders' text, else the customers affected
    (a count or an estimate, stored as text)."""
    if impact:
        return impact
    if affected_customers is not None:
        noun = "customer" if affected_customers.strip() == "1" else "customers"
        return f"{affected_customers} {noun} affected"
    return None


async def add_update(
    session: AsyncSession,
    incident: Incident,
    phase: str,
    message: str,
    *,
    by: str,
    now: datetime,
    next_update_at: datetime | None = None,
) -> int:
    """Store an update with what the incident says now (its roles too, and when
    the next update is due), and put it on the timeline."""
    number = _number(incident)
    roles = await current_roles(session, number)
    update_id: int = (
        await session.execute(
            insert(status_updates_table)
            .values(
                incident_number=number,
                phase=phase,
                message=message,
                title=incident.title,
                severity=incident.severity,
                impact=impact_of(incident.impact, incident.affected_customers),
                started_at=incident.started_at or incident.created_at,
                author=by,
                created_at=now,
                roles=None if roles.is_empty() else roles.as_data(),
                next_update_at=next_update_at,
            )
            .returning(status_updates_table.c.id)
        )
    ).scalar_one()
    await record(
        session,
        [
            event_row(
                number,
                "status_update",
                f"Status update ({phase_label(phase)}): {message}",
                at=now,
                actor=by,
                data={"phase": phase, "update": update_id},
            )
        ],
    )
    return update_id


async def text_update(
    session: AsyncSession,
    incident: Incident,
    phase: str,
    message: str,
    people: Sequence[tuple[str, str]],
    *,
    kind: str,
    now: datetime,
) -> None:
    """Queue the update's SMS to each of ``people`` (name, phone)."""
    if not people:
        return
    number = _number(incident)
    body = status_update_sms(
        number=number,
        title=incident.title,
        status=phase_label(phase),
        severity=severity_label(incident.severity),
        message=message,
        impact=impact_of(incident.impact, incident.affected_customers),
    )
    await outbox.enqueue(
        session,
        (
            Outgoing(
                kind=kind,
                channel="sms",
                to_number=phone,
                responder_name=name,
                incident_number=number,
                body=body,
            )
            for name, phone in people
        ),
        now,
    )
