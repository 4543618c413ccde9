"""Triage: what responders learn and do while an incident is open.

Every change is a timeline event with its time and who made it: a triage
field set or corrected, a note, a responder added (and paged at once).
Nothing here commits; the request does, once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, KlaxonError, NotFound
from app.incidents.locks import locked_incident
from app.models import incidents_table, notifications_table
from app.notify import outbox
from app.notify.links import with_link
from app.notify.page_info import page_info
from app.notify.texts import page_sms
from app.oncall.store import get_responder
from app.rules import RulesFile
from app.settings import Settings
from app.timeline import HAPPENED_AT, event_row, record

_LISTS = ("affected_services", "regions")
# A note's ``at`` may be this far ahead of Klaxon's clock (the sender's clock
# runs fast), and this far before the incident's start (what led up to it).
BACKDATE_SKEW = timedelta(minutes=1)
BACKDATE_LIMIT = timedelta(days=1)


def _utc(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def _describe(field: str, value: Any) -> str:
    """The timeline's words for one triage field set to ``value``."""
    label = {
        "impact": "Impact",
        "affected_customers": "Affected customers",
        "affected_services": "Affected services",
        "regions": "Regions",
        "recent_changes": "Recent changes",
        "workaround": "Workaround",
    }.get(field, field)
    if value is None or value == []:
        return f"{label} cleared"
    if field in _LISTS:
        return f"{label}: {', '.join(value)}"
    return f"{label}: {value}"


async def update_triage(
    session: AsyncSession, number: int, changes: dict[str, Any], *, by: str, now: datetime
) -> list[str]:
    """Apply the fields in ``changes`` that differ from the stored ones, one
    timeline event each; returns the names of the fields that changed."""
    incident = await locked_incident(session, number)
    values: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    for field, value in changes.items():
        current = getattr(incident, field)
        if field in _LISTS:
            value = list(dict.fromkeys(value)) if value else None
            current = current or None
        if value == current:
            continue
        values[field] = value
        kind, data = "triage", {"field": field, "value": value}
        if field == "severity":
            kind, data = "severity_changed", {"from": current, "to": value}
            message = f"Severity changed from {current} to {value}"
        elif field == "title":
            message = f"Title changed to: {value}"
        elif field == "started_at":
            value = values[field] = value.astimezone(UTC)
            if value > incident.created_at:
                raise KlaxonError(
                    f"started_at {value.isoformat()} is after #{number} was opened "
                    f"({incident.created_at.isoformat()}); the start can only move earlier"
                )
            message = f"Start of impact set to {_utc(value)}"
            data = {"field": field, "value": value.isoformat()}
        else:
            message = _describe(field, value)
        events.append(event_row(number, kind, message, at=now, actor=by, data=data))
    if values:
        await session.execute(
            update(incidents_table)
            .where(incidents_table.c.number == number)
            .values(**values, updated_at=now)
        )
        await record(session, events)
    return sorted(values)


async def add_note(
    session: AsyncSession,
    number: int,
    text: str,
    *,
    by: str,
    now: datetime,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A note, recorded now; with ``at`` earlier than now, back-dated: it keeps
    ``at`` as ``happened_at`` (``app.timeline``) and is shown at that time."""
    incident = await locked_incident(session, number)
    data: dict[str, Any] = {}
    if at is not None:
        at = at.astimezone(UTC)
        if at > now + BACKDATE_SKEW:
            raise KlaxonError(
                f"at: {at.isoformat()} is in the future (now {now.isoformat()})", status_code=422
            )
        earliest = (incident.started_at or incident.created_at) - BACKDATE_LIMIT
        if at < earliest:
            raise KlaxonError(
                f"at: {at.isoformat()} is more than a day before #{number} began "
                f"({(incident.started_at or incident.created_at).isoformat()})",
                status_code=422,
            )
        if at.replace(microsecond=0) < now.replace(microsecond=0):
            data[HAPPENED_AT] = at.isoformat()
    row = event_row(number, "note", text, at=now, actor=by, data=data)
    await record(session, [row])
    return row


async def add_responder(
    session: AsyncSession,
    rules: RulesFile,
    number: int,
    name: str,
    *,
    by: str,
    now: datetime,
    settings: Settings | None = None,
) -> list[str]:
    """Page ``name`` for this incident now, on its severity's channels (SMS at
    least: someone asked for this person). A page to them still waiting to go
    out is not doubled. Returns the channels paged."""
    incident = await locked_incident(session, number)
    if incident.status == "resolved":
        raise Conflict(f"#{number} is already resolved")
    responder = await get_responder(session, name)
    if responder is None:
        raise NotFound(f"no responder {name!r}")
    channels: list[str] = list(rules.channels_for(incident.severity)) or ["sms"]
    n = notifications_table.c
    waiting = set(
        (
            await session.execute(
                select(n.channel).where(
                    n.incident_number == number,
                    n.responder_id == responder.id,
                    n.kind == "page",
                    n.state.in_(("pending", "sending")),
                )
            )
        ).scalars()
    )
    sending = [c for c in channels if c not in waiting]
    if sending:
        info = with_link(await page_info(session, incident, rules), settings, responder.id, now)
        body = page_sms(info)
        await outbox.enqueue(
            session,
            (
                outbox.to(responder, "page", channel, body, incident_number=number)
                for channel in sending
            ),
            now,
        )
    how = (
        f"paging by {' and '.join(sending)}" if sending else "a page to them is already on its way"
    )
    await record(
        session,
        [
            event_row(
                number,
                "responder_added",
                f"{responder.name} added as a responder; {how}",
                at=now,
                actor=by,
                data={"responder": responder.name, "channels": sending},
            )
        ],
    )
    return sending
