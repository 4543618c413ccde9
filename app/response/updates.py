"""Status updates: what the people working an incident tell everyone else.

Each update has a phase (investigating → identified → monitoring → resolved)
and a message. It is stored with what the incident said at that moment, goes
on the timeline, is texted to the opted-in stakeholders of the incident's
services, and renders as the text people paste into a channel::

    Incident #1234 - Payment Service Degraded
    Status: Investigating
    Severity: SEV 2
    Impact: 50% of payment requests failing
    Started: 2024-01-15 14:30 UTC

Phase ``resolved`` also resolves the incident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.errors import Conflict
from app.incidents import lifecycle
from app.incidents.locks import locked_incident
from app.models import notifications_table, status_updates_table
from app.notify.update_texts import status_update_sms
from app.response.schemas import Phase, StatusUpdatePublic
from app.response.stakeholders import opted_in
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


def impact_of(impact: str | None, affected_customers: int | None) -> str | None:
    """The impact in words: the responders' text, else the count of customers."""
    if impact:
        return impact
    if affected_customers is not None:
        noun = "customer" if affected_customers == 1 else "customers"
        return f"{affected_customers} {noun} affected"
    return None


def render_update(
    *,
    number: int,
    title: str,
    phase: str,
    severity: str,
    impact: str | None,
    started_at: datetime,
) -> str:
    return "\n".join(
        [
            f"Incident #{number} - {title}",
            f"Status: {phase_label(phase)}",
            f"Severity: {severity_label(severity)}",
            f"Impact: {impact or IMPACT_UNKNOWN}",
            f"Started: {started_at:%Y-%m-%d %H:%M} UTC",
        ]
    )


def update_public(row: Row[Any]) -> StatusUpdatePublic:
    return StatusUpdatePublic(
        id=row.id,
        incident=row.incident_number,
        title=row.title,
        phase=row.phase,
        status=phase_label(row.phase),
        severity=row.severity,
        impact=row.impact or IMPACT_UNKNOWN,
        started_at=row.started_at,
        message=row.message,
        by=row.author,
        at=row.created_at,
        text=render_update(
            number=row.incident_number,
            title=row.title,
            phase=row.phase,
            severity=row.severity,
            impact=row.impact,
            started_at=row.started_at,
        ),
    )


async def post_update(
    session: AsyncSession,
    number: int,
    phase: Phase,
    message: str,
    *,
    by: str,
    now: datetime,
) -> tuple[int, int]:
    """Store, record and send a status update; returns its id and how many
    stakeholders it is texted to. Only a ``resolved`` update may follow the
    incident's resolution (a reopened incident is a new incident)."""
    incident = await locked_incident(session, number)
    if incident.status == "resolved" and phase != "resolved":
        raise Conflict(f"#{number} is resolved; only a 'resolved' update can follow")
    impact = impact_of(incident.impact, incident.affected_customers)
    started_at = incident.started_at or incident.created_at
    update_id: int = (
        await session.execute(
            insert(status_updates_table)
            .values(
                incident_number=number,
                phase=phase,
                message=message,
                title=incident.title,
                severity=incident.severity,
                impact=impact,
                started_at=started_at,
                author=by,
                created_at=now,
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
    if phase == "resolved":
        await lifecycle.resolve(session, number, by=by, via="api", now=now)
    services = [incident.service, *(incident.affected_services or [])]
    stakeholders = await opted_in(session, services)
    if stakeholders:
        body = status_update_sms(
            number=number,
            title=incident.title,
            status=phase_label(phase),
            severity=severity_label(incident.severity),
            message=message,
            impact=impact,
        )
        await session.execute(
            insert_for(session, notifications_table).values(
                [
                    {
                        "incident_number": number,
                        "step_id": None,
                        "responder_id": None,
                        "responder_name": person.name,
                        "kind": "update",
                        "channel": "sms",
                        "to_number": person.phone,
                        "body": body,
                        "state": "pending",
                        "due_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for person in stakeholders
                ]
            )
        )
    return update_id, len(stakeholders)


async def list_updates(session: AsyncSession, number: int) -> list[Row[Any]]:
    u = status_updates_table.c
    return list(
        await session.execute(
            select(status_updates_table).where(u.incident_number == number).order_by(u.id)
        )
    )


async def latest_update(session: AsyncSession, number: int) -> Row[Any] | None:
    u = status_updates_table.c
    return (
        await session.execute(
            select(status_updates_table)
            .where(u.incident_number == number)
            .order_by(u.id.desc())
            .limit(1)
        )
    ).first()


async def get_update(session: AsyncSession, update_id: int) -> Row[Any]:
    u = status_updates_table.c
    return (await session.execute(select(status_updates_table).where(u.id == update_id))).one()
