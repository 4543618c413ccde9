"""Response-time reports: how fast incidents were acknowledged and resolved,
by service and severity, and how much paging each responder carried.

Times are measured from when an incident was opened (detection), as the
``klaxon_time_to_acknowledge_seconds`` and ``klaxon_time_to_resolve_seconds``
histograms measure them. An incident counts in the window it was opened in.
Percentiles are nearest-rank. A page is one SMS or call sent; off-hours pages
are those sent outside 09:00-18:00, Monday to Friday, in the responder's
time zone.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import incidents_table, notifications_table, responders_table
from app.review.schemas import ResponderLoad, ResponseReport, ResponseTimes, ServiceSeverityTimes

WORK_START_HOUR = 9
WORK_END_HOUR = 18  # exclusive: 18:00 is after hours


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(pct / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def response_times(incidents: Iterable[Any]) -> dict[str, Any]:
    items = list(incidents)
    tta = [
        (i.acknowledged_at - i.created_at).total_seconds()
        for i in items
        if i.acknowledged_at is not None
    ]
    ttr = [(i.resolved_at - i.created_at).total_seconds() for i in items if i.resolved_at]
    return {
        "incidents": len(items),
        "acknowledged": len(tta),
        "resolved": len(ttr),
        "mtta_seconds": _mean(tta),
        "p90_tta_seconds": percentile(tta, 90),
        "mttr_seconds": _mean(ttr),
        "p90_ttr_seconds": percentile(ttr, 90),
    }


def is_off_hours(at: datetime, time_zone: str | None) -> bool:
    local = at.astimezone(ZoneInfo(time_zone or "UTC"))
    return local.weekday() >= 5 or not WORK_START_HOUR <= local.hour < WORK_END_HOUR


async def _incidents(
    session: AsyncSession, since: datetime, until: datetime | None, service: str | None
) -> list[Any]:
    i = incidents_table.c
    stmt = select(
        i.number, i.service, i.severity, i.created_at, i.acknowledged_at, i.resolved_at
    ).where(i.created_at >= since)
    if until is not None:
        stmt = stmt.where(i.created_at < until)
    if service is not None:
        stmt = stmt.where(i.service == service)
    return list(await session.execute(stmt.order_by(i.number)))


async def _pages(
    session: AsyncSession, since: datetime, until: datetime | None, service: str | None
) -> list[Any]:
    n, i, r = notifications_table.c, incidents_table.c, responders_table.c
    stmt = (
        select(n.responder_name, n.channel, n.incident_number, n.sent_at, r.time_zone)
        .join(incidents_table, i.number == n.incident_number)
        .outerjoin(responders_table, r.id == n.responder_id)
        .where(n.kind == "page", n.state == "sent", n.sent_at >= since)
    )
    if until is not None:
        stmt = stmt.where(n.sent_at < until)
    if service is not None:
        stmt = stmt.where(i.service == service)
    return list(await session.execute(stmt.order_by(n.id)))


def _loads(pages: list[Any]) -> list[ResponderLoad]:
    by_name: dict[str, list[Any]] = defaultdict(list)
    for page in pages:
        by_name[page.responder_name].append(page)
    loads = [
        ResponderLoad(
            responder=name,
            time_zone=items[0].time_zone,
            pages=len(items),
            sms=sum(1 for p in items if p.channel == "sms"),
            calls=sum(1 for p in items if p.channel == "voice"),
            incidents=len({p.incident_number for p in items}),
            off_hours_pages=sum(1 for p in items if is_off_hours(p.sent_at, p.time_zone)),
        )
        for name, items in by_name.items()
    ]
    return sorted(loads, key=lambda load: (-load.pages, load.responder))


async def response_report(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime | None,
    now: datetime,
    service: str | None,
) -> ResponseReport:
    """Over ``[since, until)``; without ``until``, everything since (up to ``now``)."""
    incidents = await _incidents(session, since, until, service)
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for incident in incidents:
        groups[(incident.service, incident.severity)].append(incident)
    return ResponseReport(
        since=since,
        until=until or now,
        service=service,
        overall=ResponseTimes(**response_times(incidents)),
        by_service_severity=[
            ServiceSeverityTimes(service=svc, severity=sev, **response_times(items))
            for (svc, sev), items in sorted(groups.items())
        ],
        responders=_loads(await _pages(session, since, until, service)),
    )
