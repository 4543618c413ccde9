"""What the status page shows, read from the database in one go: components
with their status now and 90 days of history, and the public incidents.

Only what was published is read: public incidents, their public updates and
the components they hold, named by the rules file's ``status_page`` block.
Nothing of the incident itself (title, labels, responders, internal updates)
is selected, so nothing of it can reach the page.

A component's status is the worst status of the unresolved public incidents
that hold it, else operational. Its history is one status per UTC day, the
worst any public incident held it at that day (an incident counts with the
worst status it gave the component, over its whole span); its uptime is the
share of the 90 days not under a major outage.

Components live in the rules file, not in the database, so Statuspage's
``created_at`` of a component is when this process first read the page, or
its earliest public incident if that is older.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import chunked
from app.models import public_components_table, public_incidents_table, public_updates_table
from app.rules.status_page import StatusComponent, StatusPageConfig
from app.statuspage.words import (
    COMPONENT_INDICATOR,
    IMPACT_DESCRIPTION,
    IMPACT_RANK,
    worst,
)

HISTORY_DAYS = 90
RECENT_INCIDENTS = 50  # incidents.json, as Statuspage's
HISTORY_INCIDENTS_MAX = 2000  # a bound on what one build reads


def public_id(kind: str, name: str) -> str:
    """A stable 12-character id for a component or group, that does not spell
    the internal service name."""
    return hashlib.sha256(f"{kind}:{name}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Day:
    day: date
    status: str


@dataclass(frozen=True)
class ComponentView:
    id: str
    name: str
    description: str | None
    group: str | None
    group_id: str | None
    position: int
    status: str
    created_at: datetime
    updated_at: datetime
    days: tuple[Day, ...]
    uptime: float  # percent over the history


@dataclass(frozen=True)
class UpdateView:
    id: str
    status: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class AffectedComponent:
    id: str
    name: str
    status: str


@dataclass(frozen=True)
class IncidentView:
    id: str
    name: str
    status: str
    impact: str
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    updates: tuple[UpdateView, ...]  # newest first
    components: tuple[AffectedComponent, ...]


@dataclass(frozen=True)
class MaintenanceView:
    """One occurrence of a public maintenance window (app/statuspage/maintenances.py)."""

    id: str
    name: str
    description: str | None
    status: str  # scheduled, in_progress, completed
    scheduled_for: datetime
    scheduled_until: datetime
    created_at: datetime
    updated_at: datetime
    components: tuple[AffectedComponent, ...]


@dataclass(frozen=True)
class Summary:
    page_id: str
    page_name: str
    page_url: str | None
    updated_at: datetime
    built_at: datetime
    indicator: str
    description: str
    components: tuple[ComponentView, ...]
    incidents: tuple[IncidentView, ...]  # newest first, unresolved and recent
    # Public maintenance windows' occurrences, latest start first (added by the cache).
    maintenances: tuple[MaintenanceView, ...] = ()

    @property
    def unresolved(self) -> tuple[IncidentView, ...]:
        return tuple(i for i in self.incidents if i.status != "resolved")


def _utc_day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _history(spans: list[tuple[datetime, datetime, str]], today: date) -> tuple[Day, ...]:
    days = []
    for back in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        start, end = _utc_day_start(day), _utc_day_start(day + timedelta(days=1))
        days.append(Day(day, worst([s for a, b, s in spans if a < end and b >= start])))
    return tuple(days)


def _uptime(spans: list[tuple[datetime, datetime, str]], since: datetime, now: datetime) -> float:
    down = sorted((max(a, since), min(b, now)) for a, b, s in spans if s == "major_outage")
    total = timedelta()
    cursor = since
    for a, b in down:
        a = max(a, cursor)
        if b > a:
            total += b - a
            cursor = b
    whole = (now - since).total_seconds()
    return round(100.0 * (1 - total.total_seconds() / whole), 2) if whole > 0 else 100.0


async def _rows(session: AsyncSession, table: Any, numbers: list[int]) -> list[Any]:
    rows: list[Any] = []
    for part in chunked(numbers):
        rows += (
            await session.execute(select(table).where(table.c.incident_number.in_(part)))
        ).all()
    return rows


def _component_view(
    component: StatusComponent,
    position: int,
    held: list[tuple[Any, Any]],
    *,
    now: datetime,
    first_seen: datetime,
) -> ComponentView:
    """``held``: (public incident, component row) pairs of this component."""
    spans = [(inc.created_at, inc.resolved_at or now, row.worst) for inc, row in held]
    current = worst([row.status for inc, row in held if inc.status != "resolved"])
    since = now - timedelta(days=HISTORY_DAYS)
    return ComponentView(
        id=public_id("component", component.service),
        name=component.name,
        description=component.description,
        group=component.group,
        group_id=public_id("group", component.group) if component.group else None,
        position=position,
        status=current,
        # Never after what happened to it (first_seen is this process's first read).
        created_at=min([first_seen, *(inc.created_at for inc, _ in held)]),
        updated_at=max([row.updated_at for _, row in held], default=first_seen),
        days=_history(spans, now.date()),
        uptime=_uptime(spans, since, now),
    )


async def build_summary(
    session: AsyncSession,
    page: StatusPageConfig,
    *,
    now: datetime,
    first_seen: dict[str, datetime],
) -> Summary:
    """The page as of ``now``; ``first_seen`` gives each component's creation
    time (set here for a component seen for the first time)."""
    since = now - timedelta(days=HISTORY_DAYS)
    incidents = (
        await session.execute(
            select(public_incidents_table)
            .where(
                or_(
                    public_incidents_table.c.resolved_at.is_(None),
                    public_incidents_table.c.resolved_at >= since,
                )
            )
            .order_by(public_incidents_table.c.created_at.desc())
            .limit(HISTORY_INCIDENTS_MAX)
        )
    ).all()
    numbers = [row.incident_number for row in incidents]
    updates: dict[int, list[Any]] = defaultdict(list)
    for row in await _rows(session, public_updates_table, numbers):
        updates[row.incident_number].append(row)
    held: dict[int, list[Any]] = defaultdict(list)
    for row in await _rows(session, public_components_table, numbers):
        held[row.incident_number].append(row)

    by_number = {row.incident_number: row for row in incidents}
    ordered = page.ordered()
    views = []
    for position, component in enumerate(ordered, start=1):
        seen = first_seen.setdefault(component.service, now)
        pairs = [
            (by_number[number], row)
            for number, rows in held.items()
            for row in rows
            if row.service == component.service
        ]
        views.append(_component_view(component, position, pairs, now=now, first_seen=seen))
    names = {c.service: c.name for c in ordered}
    incident_views: list[IncidentView] = []
    for inc in incidents:
        if inc.status != "resolved" or len(incident_views) < RECENT_INCIDENTS:
            incident_views.append(
                _incident_view(inc, updates[inc.incident_number], held[inc.incident_number], names)
            )
    return _summary(page, views, incident_views, now)


def _incident_view(
    inc: Any, updates: list[Any], held: list[Any], names: dict[str, str]
) -> IncidentView:
    return IncidentView(
        id=inc.public_id,
        name=inc.name,
        status=inc.status,
        impact=inc.impact,
        created_at=inc.created_at,
        updated_at=inc.updated_at,
        monitoring_at=inc.monitoring_at,
        resolved_at=inc.resolved_at,
        updates=tuple(
            UpdateView(u.public_id, u.status, u.body, u.created_at)
            for u in sorted(updates, key=lambda u: u.id, reverse=True)
        ),
        components=tuple(
            AffectedComponent(public_id("component", row.service), names[row.service], row.status)
            for row in sorted(held, key=lambda r: names.get(r.service, ""))
            if row.service in names
        ),
    )


def _summary(
    page: StatusPageConfig,
    components: list[ComponentView],
    incidents: list[IncidentView],
    now: datetime,
) -> Summary:
    indicator, description = COMPONENT_INDICATOR[worst([c.status for c in components])]
    impact = max(
        (i.impact for i in incidents if i.status != "resolved"),
        key=IMPACT_RANK.__getitem__,
        default="none",
    )
    if IMPACT_RANK[impact] > IMPACT_RANK.get(indicator, 0):
        indicator, description = impact, IMPACT_DESCRIPTION[impact]
    changed = [i.updated_at for i in incidents] + [c.updated_at for c in components]
    return Summary(
        page_id=public_id("page", page.name),
        page_name=page.name,
        page_url=page.url,
        updated_at=max(changed, default=now),
        built_at=now,
        indicator=indicator,
        description=description,
        components=tuple(components),
        incidents=tuple(incidents),
    )


async def incident_view(session: AsyncSession, page: StatusPageConfig, number: int) -> IncidentView:
    """Public incident ``number`` as the page shows it, however old (the
    summary keeps only the recent ones): what its subscribers are sent."""
    inc = (
        await session.execute(
            select(public_incidents_table).where(public_incidents_table.c.incident_number == number)
        )
    ).one()
    updates = await _rows(session, public_updates_table, [number])
    held = await _rows(session, public_components_table, [number])
    return _incident_view(inc, updates, held, {c.service: c.name for c in page.components})
