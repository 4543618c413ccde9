"""Response-time reports: how fast incidents were acknowledged and resolved,
by service and severity, and how much paging each responder carried.

Times are measured from when an incident was opened (detection), as the
``klaxon_time_to_acknowledge_seconds`` and ``klaxon_time_to_resolve_seconds``
histograms measure them. An incident counts in the window it was opened in.
Percentiles are nearest-rank. A page is one SMS or call sent; off-hours pages
are those sent outside 09:00-18:00, Monday to Friday, in the responder's
time zone.

A year holds a hundred thousand incidents: on PostgreSQL the report is
computed in SQL (``percentile_disc`` is nearest-rank; the off-hours test uses
the server's time zone data), so only a row per service and severity, and
per responder, reaches Python and nothing heavy runs on the event loop. SQLite
databases are small; there the rows are read and the same figures computed
here. Both find their window by an index (``incidents.created_at``,
``notifications.sent_at``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    extract,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.db import dialect_name
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


def _incident_window(
    since: datetime, until: datetime | None, service: str | None
) -> list[ColumnElement[bool]]:
    i = incidents_table.c
    where = [i.created_at >= since]
    if until is not None:
        where.append(i.created_at < until)
    if service is not None:
        where.append(i.service == service)
    return where


def _page_window(
    since: datetime, until: datetime | None, service: str | None
) -> list[ColumnElement[bool]]:
    n, i = notifications_table.c, incidents_table.c
    where = [n.kind == "page", n.state == "sent", n.sent_at >= since]
    if until is not None:
        where.append(n.sent_at < until)
    if service is not None:
        where.append(i.service == service)
    return where


def _with_service(stmt: Select[Any], service: str | None) -> Select[Any]:
    """Pages of one service's incidents: joined only then (every page has an
    incident; joining them all would read the whole incidents table)."""
    if service is None:
        return stmt
    i, n = incidents_table.c, notifications_table.c
    return stmt.join(incidents_table, i.number == n.incident_number)


async def _incidents(
    session: AsyncSession, since: datetime, until: datetime | None, service: str | None
) -> list[Any]:
    i = incidents_table.c
    stmt = select(
        i.number, i.service, i.severity, i.created_at, i.acknowledged_at, i.resolved_at
    ).where(*_incident_window(since, until, service))
    return list(await session.execute(stmt.order_by(i.number)))


async def _pages(
    session: AsyncSession, since: datetime, until: datetime | None, service: str | None
) -> list[Any]:
    n, r = notifications_table.c, responders_table.c
    stmt = _with_service(
        select(n.responder_name, n.channel, n.incident_number, n.sent_at, r.time_zone)
        .outerjoin(responders_table, r.id == n.responder_id)
        .where(*_page_window(since, until, service)),
        service,
    )
    return list(await session.execute(stmt.order_by(n.id)))


# --- PostgreSQL: the same figures, computed by the database ----------------------


def _seconds_to(later: Any) -> ColumnElement[float]:
    return cast(extract("epoch", later - incidents_table.c.created_at), Float)


def _time_aggregates() -> list[Any]:
    i = incidents_table.c
    tta, ttr = _seconds_to(i.acknowledged_at), _seconds_to(i.resolved_at)
    return [
        func.count().label("incidents"),
        func.count(i.acknowledged_at).label("acknowledged"),
        func.count(i.resolved_at).label("resolved"),
        cast(func.avg(tta), Float).label("mtta_seconds"),
        func.percentile_disc(0.9).within_group(tta).label("p90_tta_seconds"),
        cast(func.avg(ttr), Float).label("mttr_seconds"),
        func.percentile_disc(0.9).within_group(ttr).label("p90_ttr_seconds"),
    ]


_TIME_FIELDS = (
    "incidents",
    "acknowledged",
    "resolved",
    "mtta_seconds",
    "p90_tta_seconds",
    "mttr_seconds",
    "p90_ttr_seconds",
)


async def _times_in_sql(
    session: AsyncSession, since: datetime, until: datetime | None, service: str | None
) -> tuple[ResponseTimes, list[ServiceSeverityTimes]]:
    i = incidents_table.c
    stmt = (
        select(i.service, i.severity, func.grouping(i.service).label("total"), *_time_aggregates())
        .where(*_incident_window(since, until, service))
        .group_by(func.grouping_sets(tuple_(i.service, i.severity), tuple_()))
    )
    overall = ResponseTimes(
        **dict.fromkeys(_TIME_FIELDS[3:]), incidents=0, acknowledged=0, resolved=0
    )
    groups: list[ServiceSeverityTimes] = []
    for row in await session.execute(stmt):
        times = {name: getattr(row, name) for name in _TIME_FIELDS}
        if row.total:
            overall = ResponseTimes(**times)
        else:
            groups.append(ServiceSeverityTimes(service=row.service, severity=row.severity, **times))
    return overall, sorted(groups, key=lambda g: (g.service, g.severity))


def _off_hours(at: Any, time_zone: Any) -> ColumnElement[bool]:
    local = func.timezone(func.coalesce(time_zone, "UTC"), at)
    hour = extract("hour", local)
    return or_(extract("isodow", local) >= 6, hour < WORK_START_HOUR, hour >= WORK_END_HOUR)


async def _loads_in_sql(
    session: AsyncSession, since: datetime, until: datetime | None, service: str | None
) -> list[ResponderLoad]:
    n, r = notifications_table.c, responders_table.c
    first_zone = func.array_agg(aggregate_order_by(r.time_zone, n.id), type_=ARRAY(String))[1]
    stmt = (
        select(
            n.responder_name,
            first_zone.label("time_zone"),
            func.count().label("pages"),
            func.count().filter(n.channel == "sms").label("sms"),
            func.count().filter(n.channel == "voice").label("calls"),
            func.count(n.incident_number.distinct()).label("incidents"),
            cast(func.sum(case((_off_hours(n.sent_at, r.time_zone), 1), else_=0)), Integer).label(
                "off_hours_pages"
            ),
        )
        .outerjoin(responders_table, r.id == n.responder_id)
        .where(and_(*_page_window(since, until, service)))
        .group_by(n.responder_name)
    )
    stmt = _with_service(stmt, service)
    loads = [
        ResponderLoad(
            responder=row.responder_name,
            time_zone=row.time_zone,
            pages=row.pages,
            sms=row.sms,
            calls=row.calls,
            incidents=row.incidents,
            off_hours_pages=row.off_hours_pages,
        )
        for row in await session.execute(stmt)
    ]
    return sorted(loads, key=lambda load: (-load.pages, load.responder))


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
    if dialect_name(session) == "postgresql":
        overall, by_service_severity = await _times_in_sql(session, since, until, service)
        return ResponseReport(
            since=since,
            until=until or now,
            service=service,
            overall=overall,
            by_service_severity=by_service_severity,
            responders=await _loads_in_sql(session, since, until, service),
        )
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
