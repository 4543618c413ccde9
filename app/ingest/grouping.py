"""Grouping new episodes into incidents, and resolving incidents left with
nothing firing: step 4 of ``app.ingest.dedupe``.

Open incidents are locked FOR NO KEY UPDATE (by number, in one statement) so
concurrent deliveries queue on them in a fixed order, while rows that merely
reference an incident (alerts, timeline events) can still be written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import CHUNK, chunked, insert_for
from app.metrics import TIME_TO_RESOLVE
from app.models import OPEN_INCIDENT_PREDICATE, alerts_table, incidents_table
from app.results import Classified, IngestResult, Opened
from app.timeline import describe_alerts, event_row


async def _lock_open_incidents(
    session: AsyncSession, group_keys: list[str], numbers: list[int]
) -> list[Any]:
    i = incidents_table.c
    if len(group_keys) + len(numbers) > CHUNK:
        # A storm of distinct group keys: more than one statement takes. Find
        # the numbers first, then lock them in chunks in ascending order, the
        # same order as one statement would.
        for keys in chunked(group_keys):
            found = await session.execute(
                select(i.number).where(i.group_key.in_(keys), text(OPEN_INCIDENT_PREDICATE))
            )
            numbers = [*numbers, *found.scalars()]
        locked = []
        for chunk in chunked(sorted(set(numbers))):
            locked += await _lock(session, i.number.in_(chunk))
        return locked
    conditions = []
    if group_keys:
        conditions.append(and_(i.group_key.in_(group_keys), text(OPEN_INCIDENT_PREDICATE)))
    if numbers:
        conditions.append(i.number.in_(numbers))
    if not conditions:
        return []
    return await _lock(session, or_(*conditions))


async def _lock(session: AsyncSession, condition: ColumnElement[bool]) -> list[Any]:
    rows = await session.execute(
        select(incidents_table)
        .where(condition)
        .order_by(incidents_table.c.number)
        .with_for_update(key_share=True)
    )
    return list(rows)


async def attach_and_resolve(
    session: AsyncSession,
    new_items: list[tuple[int, Classified]],
    resolved_by_incident: dict[int, list[str]],
    result: IngestResult,
    timeline: list[dict[str, Any]],
    *,
    now: datetime,
    actor: str,
    reopen_within: Mapping[str, timedelta],
) -> None:
    i = incidents_table.c
    by_group: dict[str, list[tuple[int, Classified]]] = defaultdict(list)
    for alert_id, item in new_items:
        by_group[item.group_key].append((alert_id, item))

    locked = await _lock_open_incidents(session, sorted(by_group), sorted(resolved_by_incident))
    open_by_group: dict[str, Any] = {}
    by_number: dict[int, Any] = {}
    for row in locked:
        by_number[row.number] = row
        if row.status != "resolved":
            open_by_group[row.group_key] = row

    for key in sorted(by_group):
        members = by_group[key]
        firing = [(aid, it) for aid, it in members if it.event.status == "firing"]
        incident = open_by_group.get(key)
        window = reopen_within.get(firing[0][1].event.source) if firing else None
        if incident is None and firing and window is not None:
            incident = await _reopen_flapping(session, key, now=now, window=window, actor=actor)
            if incident is not None:
                if incident.status == "triggered":
                    result.opened_incidents.append(
                        Opened(incident.number, incident.severity, incident.policy)
                    )
                timeline.append(
                    event_row(
                        incident.number,
                        "reopened",
                        f"Reopened: firing again {window.total_seconds() / 60:g} min or less "
                        "after it resolved itself (flapping)",
                        at=now,
                        actor=actor,
                    )
                )
        if incident is None and firing:
            incident = await _open_incident(session, key, members, now=now)
            if incident is None:
                # Another delivery opened it after our lock query; it has
                # committed by now (the insert waited for it).
                incident = (
                    await session.execute(
                        select(incidents_table)
                        .where(and_(i.group_key == key, text(OPEN_INCIDENT_PREDICATE)))
                        .with_for_update(key_share=True)
                    )
                ).first()
            else:
                result.opened.append(incident.number)
                result.opened_severities[incident.number] = incident.severity
                result.opened_incidents.append(
                    Opened(incident.number, incident.severity, incident.policy)
                )
                timeline.append(
                    event_row(
                        incident.number,
                        "triggered",
                        f"Incident opened: {incident.title} ({incident.severity}, "
                        f"service {incident.service})",
                        at=now,
                        actor=actor,
                        data={"severity": incident.severity, "group_key": key},
                    )
                )
        if incident is None:
            continue  # resolved alerts never seen firing, and no open incident
        number = incident.number
        result.touched.add(number)
        for ids in chunked(sorted(aid for aid, _ in members)):
            await session.execute(
                update(alerts_table)
                .where(alerts_table.c.id.in_(ids))
                .values(incident_number=number)
            )
        if number not in result.opened:
            new_severity = min([incident.severity, *(it.severity for _, it in firing)])
            await session.execute(
                update(incidents_table)
                .where(i.number == number)
                .values(
                    alert_count=i.alert_count + len(members),
                    firing_count=i.firing_count + len(firing),
                    severity=new_severity,
                    updated_at=now,
                )
            )
            if new_severity != incident.severity:
                result.escalated_severity.append(number)
                timeline.append(
                    event_row(
                        number,
                        "severity_changed",
                        f"Severity changed from {incident.severity} to {new_severity}",
                        at=now,
                        actor=actor,
                        data={"from": incident.severity, "to": new_severity},
                    )
                )
        fired_titles = [it.event.title for _, it in firing]
        if fired_titles:
            timeline.append(
                event_row(
                    number,
                    "alert_fired",
                    describe_alerts("fired", fired_titles),
                    at=now,
                    actor=actor,
                    data={"alert_ids": sorted(aid for aid, _ in firing)},
                )
            )

    for number in sorted(resolved_by_incident):
        titles = resolved_by_incident[number]
        row = (
            await session.execute(
                update(incidents_table)
                .where(i.number == number)
                .values(firing_count=i.firing_count - len(titles), updated_at=now)
                .returning(i.firing_count, i.status, i.severity, i.created_at)
            )
        ).one()
        result.touched.add(number)
        timeline.append(
            event_row(
                number, "alert_resolved", describe_alerts("resolved", titles), at=now, actor=actor
            )
        )
        if row.firing_count == 0 and row.status != "resolved":
            await session.execute(
                update(incidents_table)
                .where(i.number == number)
                .values(status="resolved", resolved_at=now, resolved_by=actor)
            )
            result.resolved_incidents.append(number)
            TIME_TO_RESOLVE.labels(row.severity).observe(
                max((now - row.created_at).total_seconds(), 0.0)
            )
            timeline.append(
                event_row(
                    number,
                    "resolved",
                    "Incident resolved: every alert has resolved",
                    at=now,
                    actor=actor,
                )
            )


async def _reopen_flapping(
    session: AsyncSession, key: str, *, now: datetime, window: timedelta, actor: str
) -> Any:
    """The incident of ``key`` that this same sender resolved within ``window``,
    reopened (acknowledged again if someone had acknowledged it), or None."""
    i = incidents_table.c
    recent = (
        await session.execute(
            select(incidents_table)
            .where(
                i.group_key == key,
                i.status == "resolved",
                i.resolved_by == actor,
                i.resolved_at >= now - window,
            )
            .order_by(i.number.desc())
            .limit(1)
            .with_for_update(key_share=True)
        )
    ).first()
    if recent is None:
        return None
    status = "acknowledged" if recent.acknowledged_at is not None else "triggered"
    try:
        async with session.begin_nested():
            return (
                await session.execute(
                    update(incidents_table)
                    .where(i.number == recent.number)
                    .values(status=status, resolved_at=None, resolved_by=None, updated_at=now)
                    .returning(incidents_table)
                )
            ).first()
    except IntegrityError:
        return None  # a concurrent delivery opened a new incident for this key


async def _open_incident(
    session: AsyncSession, key: str, members: list[tuple[int, Classified]], *, now: datetime
) -> Any:
    firing = [it for _, it in members if it.event.status == "firing"]
    # The worst alert names the incident.
    first = min(firing, key=lambda it: (it.severity, it.event.title))
    row = {
        "title": first.event.title,
        "status": "triggered",
        "severity": min(it.severity for it in firing),
        "service": first.service,
        "policy": first.policy,
        "group_key": key,
        "labels": first.event.labels,
        "alert_count": len(members),
        "firing_count": len(firing),
        "created_at": now,
        "updated_at": now,
    }
    stmt = (
        insert_for(session, incidents_table)
        .values(row)
        .on_conflict_do_nothing(
            index_elements=["group_key"], index_where=text(OPEN_INCIDENT_PREDICATE)
        )
        .returning(incidents_table)
    )
    return (await session.execute(stmt)).first()
