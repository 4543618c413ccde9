"""Change events stored and read: "what changed recently?".

A change belongs to a service and a time. An incident's changes are those of
its service and affected services from ``window`` (an hour by default,
``KLAXON_CHANGES_WINDOW_MINUTES``) before its impact began up to its
resolution (or now): the deploy before it and the rollback during it. Nothing
here commits; the request does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.models import Incident, change_events_table
from app.sources.change_events import ChangeRecord

DEFAULT_WINDOW = timedelta(hours=1)
MAX_LIMIT = 500


async def record(
    session: AsyncSession, change: ChangeRecord, *, by: str, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Store ``change``; returns the stored row and whether it is new (False: a
    retried delivery of a change already stored, which stays as it was)."""
    c = change_events_table.c
    values = {
        "service": change.service,
        "summary": change.summary,
        "version": change.version,
        "who": change.who,
        "source": change.source,
        "links": change.links,
        "custom_details": change.custom_details,
        "at": change.at,
        "via": change.via,
        "received_by": by,
        "received_at": now,
        "dedup_key": change.dedup_key,
    }
    stmt = insert_for(session, change_events_table).values(**values)
    if change.dedup_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedup_key"])
    new_id = (await session.execute(stmt.returning(c.id))).scalar()
    if new_id is not None:
        return {"id": new_id, **values}, True
    stored = (
        await session.execute(select(change_events_table).where(c.dedup_key == change.dedup_key))
    ).one()
    return dict(stored._mapping), False


async def list_changes(
    session: AsyncSession,
    *,
    services: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = MAX_LIMIT,
) -> list[dict[str, Any]]:
    """Changes in ``[since, until]`` on ``services`` (all without), oldest first;
    the newest ``limit`` of them."""
    c = change_events_table.c
    stmt = select(change_events_table)
    if services is not None:
        stmt = stmt.where(c.service.in_(sorted(set(services))))
    if since is not None:
        stmt = stmt.where(c.at >= since)
    if until is not None:
        stmt = stmt.where(c.at <= until)
    stmt = stmt.order_by(c.at.desc(), c.id.desc()).limit(limit)
    rows = [dict(r._mapping) for r in await session.execute(stmt)]
    return rows[::-1]


def incident_services(incident: Incident) -> list[str]:
    return list(dict.fromkeys([incident.service, *(incident.affected_services or [])]))


def incident_window(
    incident: Incident, window: timedelta, *, now: datetime | None
) -> tuple[datetime, datetime | None]:
    """From ``window`` before the impact began to the resolution (or ``now``;
    None: no end)."""
    start = incident.started_at or incident.created_at
    return start - window, incident.resolved_at or now


async def for_incident(
    session: AsyncSession,
    incident: Incident,
    window: timedelta,
    *,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The changes of the incident's services around it, oldest first."""
    since, until = incident_window(incident, window, now=now)
    return await list_changes(
        session, services=incident_services(incident), since=since, until=until
    )


def describe(change: Mapping[str, Any]) -> str:
    """``Deployment #5678 to production (v5678)``: the summary, and the version
    when the summary does not say it."""
    version = change.get("version")
    if version and version not in change["summary"]:
        return f"{change['summary']} ({version})"
    return str(change["summary"])


def change_line(change: Mapping[str, Any]) -> str:
    """One line for people: ``2026-11-30 14:30 UTC payments: Deploy 5678 (v1, by alice)``."""
    extra = [change["version"]] if change.get("version") else []
    if change.get("who"):
        extra.append(f"by {change['who']}")
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"{change['at']:%Y-%m-%d %H:%M} UTC {change['service']}: {change['summary']}{tail}"


async def handoff_lines(
    session: AsyncSession, services: Sequence[str], *, since: datetime, until: datetime
) -> list[str]:
    """The changes on a schedule's services during the last shift, for its handoff."""
    if not services:
        return []
    rows = await list_changes(session, services=services, since=since, until=until)
    return [change_line(row) for row in rows]
