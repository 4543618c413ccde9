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
per responder, reaches Python and nothing heavy runs on the event loop; its
two statements run at once, each on a connection of its own. SQLite
databases are small; there the rows are read and the same figures computed
here. Both find their window by an index (``incidents.created_at``,
``notifications.sent_at``).
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Float,
    Select,
    cast,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.db import dialect_name, reading
from app.models import incidents_table, notifications_table, responders_table
from app.review.schemas import ResponderLoad, ResponseReport, ResponseTimes, ServiceSeverityTimes

WORK_START_HOUR = 9
WORK_END_HOUR = 18  # exclusive: 18:00 is after hours

T = TypeVar("T")


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
    """Seconds from opening to ``later``: ``date_part`` is a double precision,
    where ``extract`` makes a numeric of each row (a third of the report's time)."""
    return func.date_part("epoch", later - incidents_table.c.created_at, type_=Float)


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
    conn: AsyncConnection, since: datetime, until: datetime | None, service: str | None
) -> tuple[ResponseTimes, list[ServiceSeverityTimes]]:
    i = incidents_table.c
    # Each time is computed once a row, then read by its count, mean and p90.
    times = (
        select(
            i.service,
            i.severity,
            _seconds_to(i.acknowledged_at).label("tta"),
            _seconds_to(i.resolved_at).label("ttr"),
        )
        .where(*_incident_window(since, until, service))
        .subquery("t")
    )
    t = times.c
    stmt = select(
        t.service,
        t.severity,
        func.grouping(t.service).label("total"),
        func.count().label("incidents"),
        func.count(t.tta).label("acknowledged"),
        func.count(t.ttr).label("resolved"),
        cast(func.avg(t.tta), Float).label("mtta_seconds"),
        func.percentile_disc(0.9).within_group(t.tta).label("p90_tta_seconds"),
        cast(func.avg(t.ttr), Float).label("mttr_seconds"),
        func.percentile_disc(0.9).within_group(t.ttr).label("p90_ttr_seconds"),
    ).group_by(func.grouping_sets(tuple_(t.service, t.severity), tuple_()))
    overall = ResponseTimes(
        **dict.fromkeys(_TIME_FIELDS[3:]), incidents=0, acknowledged=0, resolved=0
    )
    groups: list[ServiceSeverityTimes] = []
    for row in await conn.execute(stmt):
        figures = {name: getattr(row, name) for name in _TIME_FIELDS}
        if row.total:
            overall = ResponseTimes(**figures)
        else:
            groups.append(
                ServiceSeverityTimes(service=row.service, severity=row.severity, **figures)
            )
    return overall, sorted(groups, key=lambda g: (g.service, g.severity))


def _heaviest_first(loads: list[ResponderLoad]) -> list[ResponderLoad]:
    return sorted(loads, key=lambda load: (-load.pages, load.responder))


def _off_hours(local: Any) -> ColumnElement[bool]:
    """Whether a local time is outside 09:00-18:00, Monday to Friday."""
    hour = func.date_part("hour", local, type_=Float)
    return or_(
        func.date_part("isodow", local, type_=Float) >= 6,
        hour < WORK_START_HOUR,
        hour >= WORK_END_HOUR,
    )


async def _loads_in_sql(
    conn: AsyncConnection, since: datetime, until: datetime | None, service: str | None
) -> list[ResponderLoad]:
    n, r = notifications_table.c, responders_table.c
    # Each page's local time, computed once: OFFSET keeps PostgreSQL from
    # folding this into the query below, which would convert it three times.
    pages = (
        _with_service(
            select(
                n.id,
                n.responder_name,
                n.channel,
                n.incident_number,
                func.timezone(func.coalesce(r.time_zone, "UTC"), n.sent_at).label("local"),
            )
            .outerjoin(responders_table, r.id == n.responder_id)
            .where(*_page_window(since, until, service)),
            service,
        )
        .offset(0)
        .subquery("p")
    )
    p = pages.c
    per_responder = (
        select(
            p.responder_name,
            func.min(p.id).label("first_page"),
            func.count().label("pages"),
            func.count().filter(p.channel == "sms").label("sms"),
            func.count().filter(p.channel == "voice").label("calls"),
            func.count(p.incident_number.distinct()).label("incidents"),
            func.count().filter(_off_hours(p.local)).label("off_hours_pages"),
        )
        .group_by(p.responder_name)
        .subquery("g")
    )
    # A responder's time zone is that of their first page's responder (their
    # row may have gone since): looked up for that one page, not sorted out of all.
    g = per_responder.c
    first, zone = notifications_table.alias("first_page"), responders_table.alias("zone")
    stmt = (
        select(per_responder, zone.c.time_zone)
        .outerjoin(first, first.c.id == g.first_page)
        .outerjoin(zone, zone.c.id == first.c.responder_id)
    )
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
        for row in await conn.execute(stmt)
    ]
    return _heaviest_first(loads)


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
    return _heaviest_first(loads)


async def _apart(engine: AsyncEngine, read: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``read`` on a connection of its own, so that the report's two statements
    (times, and pages) run at once on PostgreSQL's cores: a 365-day report in
    about two thirds of the time. Both only read, and each statement sees a
    snapshot of its own, as it would in one session at READ COMMITTED."""
    async with reading(engine) as conn:
        return await read(conn)


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
        engine = session.bind
        if not isinstance(engine, AsyncEngine):  # app/db.py binds every session to one
            raise TypeError(
                "a report reads on connections of its own: bind the session to an engine"
            )
        (overall, by_service_severity), responders = await asyncio.gather(
            _apart(engine, lambda db: _times_in_sql(db, since, until, service)),
            _apart(engine, lambda db: _loads_in_sql(db, since, until, service)),
        )
        return ResponseReport(
            since=since,
            until=until or now,
            service=service,
            overall=overall,
            by_service_severity=by_service_severity,
            responders=responders,
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
