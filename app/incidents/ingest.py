"""Dedupe alerts into episodes and group them into incidents, in one transaction.

The statements run in a fixed order so that concurrent deliveries (an
Alertmanager HA pair posting the same group at once) wait for each other
instead of deadlocking or doubling anything:

1. read the stored episodes of the delivery's fingerprints (no locks);
2. insert the new episodes, sorted, ``ON CONFLICT DO NOTHING``: an episode
   another delivery inserted first becomes a repeat here;
3. update repeats and firing → resolved transitions, the latter guarded by
   ``status = 'firing'`` so only one delivery counts a resolution;
4. lock the open incidents involved (``FOR UPDATE``, by number), create the
   missing ones (the partial unique index allows one open incident per group
   key), attach the new episodes, and resolve incidents left with nothing
   firing;
5. write the timeline.

Nothing here commits: the caller commits once, then answers the sender.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.events import AlertEvent
from app.incidents.timeline import describe_alerts, event_row, record
from app.metrics import TIME_TO_RESOLVE
from app.models import OPEN_INCIDENT_PREDICATE, alerts_table, incidents_table
from app.rules import RulesFile, Severity, classify, group_key, route

EpisodeKey = tuple[str, str, datetime]  # source, fingerprint, start of the episode


def episode_key(event: AlertEvent) -> EpisodeKey:
    return (event.source, event.fingerprint, event.starts_at)


@dataclass(frozen=True)
class Classified:
    event: AlertEvent
    severity: Severity
    service: str
    policy: str | None
    group_key: str


@dataclass(frozen=True)
class Opened:
    number: int
    severity: str
    policy: str | None


@dataclass
class IngestResult:
    received: int = 0
    new: int = 0
    repeats: int = 0
    resolved: int = 0
    stale: int = 0
    opened: list[int] = field(default_factory=list)
    resolved_incidents: list[int] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    escalated_severity: list[int] = field(default_factory=list)
    opened_severities: dict[int, str] = field(default_factory=dict)
    opened_incidents: list[Opened] = field(default_factory=list)


@dataclass
class _Stored:
    id: int
    starts_at: datetime
    status: str
    incident_number: int | None
    annotations: dict[str, Any]


def classify_events(rules: RulesFile, events: list[AlertEvent]) -> list[Classified]:
    classified = []
    for event in events:
        routing = route(rules, event.labels)
        classified.append(
            Classified(
                event=event,
                severity=classify(rules, event.labels),
                service=routing.service,
                policy=routing.policy,
                group_key=group_key(routing, event.labels, event.source_group_key),
            )
        )
    return classified


async def ingest(
    session: AsyncSession,
    items: list[Classified],
    *,
    now: datetime,
    actor: str,
    reopen_within: Mapping[str, timedelta] | None = None,
) -> IngestResult:
    """``reopen_within`` maps a source to its flap window: an alert of that
    source firing again that soon after its incident resolved itself reopens
    that incident instead of opening a new one."""
    result = IngestResult(received=len(items))
    if not items:
        return result
    # The last word of a delivery on one episode wins (a payload never
    # carries the same alert twice, but a hand-written one might).
    by_key: dict[tuple[str, str, datetime], Classified] = {}
    for item in items:
        e = item.event
        by_key[(e.source, e.fingerprint, e.starts_at)] = item
    stored = await _load_episodes(session, list(by_key.values()))

    to_insert: list[Classified] = []
    repeats: list[tuple[_Stored, Classified]] = []
    resolutions: list[tuple[_Stored, datetime, Classified | None]] = []
    for key in sorted(by_key, key=lambda k: (k[0], k[1], k[2])):
        item = by_key[key]
        event = item.event
        episodes = stored.get((event.source, event.fingerprint), [])
        same = next((ep for ep in episodes if ep.starts_at == event.starts_at), None)
        newer = any(ep.starts_at > event.starts_at for ep in episodes)
        if same is not None:
            if same.status == "firing" and event.status == "resolved":
                assert event.ends_at is not None
                resolutions.append((same, event.ends_at, item))
            elif same.status == "firing":
                repeats.append((same, item))
            else:
                # Already resolved: a retry or a late copy; never undo it.
                result.stale += 1
        elif newer:
            result.stale += 1
        else:
            # A new episode ends every older one still open: the source saw
            # it resolve even if we missed that notification.
            for ep in episodes:
                if ep.status == "firing":
                    resolutions.append((ep, event.starts_at, None))
            to_insert.append(item)

    inserted = await _insert_episodes(session, to_insert, now=now)
    for item in to_insert:
        e = item.event
        if (e.source, e.fingerprint, e.starts_at) not in inserted:
            # A concurrent delivery stored it first: ours is a repeat.
            result.repeats += 1
    await _count_lost_races(session, to_insert, inserted, now=now)
    await _update_repeats(session, repeats, now=now)
    result.repeats += len(repeats)
    resolved_by_incident = await _apply_resolutions(session, resolutions, now=now)
    result.resolved += sum(1 for _, _, item in resolutions if item is not None)

    new_items = [
        (inserted[(i.event.source, i.event.fingerprint, i.event.starts_at)], i)
        for i in to_insert
        if (i.event.source, i.event.fingerprint, i.event.starts_at) in inserted
    ]
    result.new = len(new_items)
    timeline: list[dict[str, Any]] = []
    await _attach_and_resolve(
        session,
        new_items,
        resolved_by_incident,
        result,
        timeline,
        now=now,
        actor=actor,
        reopen_within=reopen_within or {},
    )
    await record(session, timeline)
    return result


async def _load_episodes(
    session: AsyncSession, items: list[Classified]
) -> dict[tuple[str, str], list[_Stored]]:
    a = alerts_table.c
    wanted = sorted({(i.event.source, i.event.fingerprint) for i in items})
    rows = await session.execute(
        select(
            a.id, a.source, a.fingerprint, a.starts_at, a.status, a.incident_number, a.annotations
        ).where(tuple_(a.source, a.fingerprint).in_(wanted))
    )
    stored: dict[tuple[str, str], list[_Stored]] = defaultdict(list)
    for row in rows:
        stored[(row.source, row.fingerprint)].append(
            _Stored(row.id, row.starts_at, row.status, row.incident_number, row.annotations)
        )
    return stored


async def _insert_episodes(
    session: AsyncSession, items: list[Classified], *, now: datetime
) -> dict[tuple[str, str, datetime], int]:
    if not items:
        return {}
    rows = [
        {
            "source": i.event.source,
            "fingerprint": i.event.fingerprint,
            "status": i.event.status,
            "name": i.event.name[:500],
            "severity": i.severity,
            "service": i.service,
            "group_key": i.group_key,
            "labels": i.event.labels,
            "annotations": i.event.annotations,
            "generator_url": (i.event.generator_url or None),
            "starts_at": i.event.starts_at,
            "ends_at": i.event.ends_at,
            "occurrences": 1,
            "first_seen_at": now,
            "last_seen_at": now,
            "incident_number": None,
        }
        for i in items
    ]
    stmt = (
        insert_for(session, alerts_table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["source", "fingerprint", "starts_at"])
        .returning(
            alerts_table.c.id,
            alerts_table.c.source,
            alerts_table.c.fingerprint,
            alerts_table.c.starts_at,
        )
    )
    returned = await session.execute(stmt)
    return {(r.source, r.fingerprint, r.starts_at): r.id for r in returned}


async def _count_lost_races(
    session: AsyncSession,
    to_insert: list[Classified],
    inserted: dict[tuple[str, str, datetime], int],
    *,
    now: datetime,
) -> None:
    a = alerts_table.c
    lost = [
        (i.event.source, i.event.fingerprint, i.event.starts_at)
        for i in to_insert
        if (i.event.source, i.event.fingerprint, i.event.starts_at) not in inserted
    ]
    if lost:
        await session.execute(
            update(alerts_table)
            .where(tuple_(a.source, a.fingerprint, a.starts_at).in_(lost))
            .values(occurrences=a.occurrences + 1, last_seen_at=now)
        )


async def _update_repeats(
    session: AsyncSession, repeats: list[tuple[_Stored, Classified]], *, now: datetime
) -> None:
    if not repeats:
        return
    a = alerts_table.c
    ids = sorted(stored.id for stored, _ in repeats)
    await session.execute(
        update(alerts_table)
        .where(a.id.in_(ids))
        .values(occurrences=a.occurrences + 1, last_seen_at=now)
    )
    changed = [
        {"b_id": stored.id, "b_annotations": item.event.annotations}
        for stored, item in sorted(repeats, key=lambda r: r[0].id)
        if item.event.annotations and item.event.annotations != stored.annotations
    ]
    if changed:
        await session.execute(
            update(alerts_table)
            .where(a.id == bindparam("b_id"))
            .values(annotations=bindparam("b_annotations")),
            changed,
            execution_options={"synchronize_session": False},
        )


async def _apply_resolutions(
    session: AsyncSession,
    resolutions: list[tuple[_Stored, datetime, Classified | None]],
    *,
    now: datetime,
) -> dict[int, list[str]]:
    """Resolve episodes; return, per incident, the titles of the episodes that
    this delivery moved from firing to resolved."""
    a = alerts_table.c
    by_incident: dict[int, list[str]] = defaultdict(list)
    for stored, ends_at, item in sorted(resolutions, key=lambda r: r[0].id):
        values: dict[str, Any] = {"status": "resolved", "ends_at": ends_at, "last_seen_at": now}
        if item is not None:
            values["occurrences"] = a.occurrences + 1
            if item.event.annotations:
                values["annotations"] = item.event.annotations
        # Guarded by status, so that of two concurrent deliveries only one
        # counts this resolution against the incident.
        row = (
            await session.execute(
                update(alerts_table)
                .where(and_(a.id == stored.id, a.status == "firing"))
                .values(**values)
                .returning(a.incident_number, a.name)
            )
        ).first()
        if row is not None and row.incident_number is not None:
            by_incident[row.incident_number].append(row.name)
    return by_incident


async def _lock_open_incidents(
    session: AsyncSession, group_keys: list[str], numbers: list[int]
) -> list[Any]:
    i = incidents_table.c
    conditions = []
    if group_keys:
        conditions.append(and_(i.group_key.in_(group_keys), text(OPEN_INCIDENT_PREDICATE)))
    if numbers:
        conditions.append(i.number.in_(numbers))
    if not conditions:
        return []
    rows = await session.execute(
        select(incidents_table)
        .where(or_(*conditions))
        .order_by(i.number)
        .with_for_update(key_share=True)
    )
    return list(rows)


async def _attach_and_resolve(
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
        ids = sorted(aid for aid, _ in members)
        await session.execute(
            update(alerts_table).where(alerts_table.c.id.in_(ids)).values(incident_number=number)
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
        "title": first.event.title[:500],
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
