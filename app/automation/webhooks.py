"""Outgoing webhooks: incident events, signed, to every URL subscribed to them
(in the rules file's ``webhooks:`` or through ``/api/v1/webhooks/subscriptions``).

The events are read from the timeline, which every state change already writes
in its own transaction: a timer (:func:`forward_events`, run by the engine's
loop) reads the events after a mark, queues one ``webhook`` message per event
and subscriber in the outbound queue, and moves the mark, in one transaction.
Nothing on the paths that open, acknowledge or resolve an incident changes, and
an event is queued once whatever the number of replicas (the mark row is held
``FOR UPDATE`` and the queue's key is unique).

On PostgreSQL, ids are handed out before commit, so a transaction that commits
late can leave an event below ids already read. The mark therefore stops below
the first gap until that gap has been seen for :data:`GAP_SECONDS` (a
transaction never stays open that long: statements time out in seconds). When
it was first seen is kept on the mark's row, as a row's ``at`` is not its
commit time (a repeat summary carries an older one). The events after the gap
are read again next time; queueing them again is a no-op, as their keys are
already queued. The webhook-id a receiver sees is the event's (``klaxon-event-N``),
the same to every subscriber and on every retry.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.models import (
    incidents_table,
    timeline_table,
    webhook_marks_table,
    webhook_subscriptions_table,
)
from app.notify import outbound
from app.rules import RulesFile
from app.runtime import Runtime
from app.transaction import writing

KIND = "webhook"
MARK = "webhooks"
GAP_SECONDS = 60
BATCH = 200
#: A receiver down for longer than this misses the event.
DELIVERY_DEADLINE = timedelta(hours=1)
REQUEST_TIMEOUT = 10.0
#: Timeline kinds → the event a subscriber sees.
EVENTS: dict[str, str] = {
    "triggered": "incident.opened",
    "reopened": "incident.opened",
    "acknowledged": "incident.acknowledged",
    "resolved": "incident.resolved",
    "status_update": "incident.status_update",
    "role": "incident.role_changed",  # app/response/roles.py: given, handed over, cleared
}


def _subscriber_key(url: str, source: str) -> str:
    return f"{source}:{hashlib.sha256(url.encode()).hexdigest()[:16]}"


async def subscribers(session: AsyncSession, rules: RulesFile) -> list[tuple[str, str, set[str]]]:
    """``(key, url, events)`` of every subscription, the rules file's first."""
    found = [
        (_subscriber_key(hook.url, "rules"), hook.url, set(hook.events)) for hook in rules.webhooks
    ]
    w = webhook_subscriptions_table.c
    for row in await session.execute(select(w.id, w.url, w.events).order_by(w.id)):
        found.append((f"api:{row.id}", row.url, set(row.events)))
    return found


async def _mark(session: AsyncSession) -> Any:
    """The mark row (``last_event_id``, ``gap_id``, ``gap_seen_at``), held for update."""
    m = webhook_marks_table.c
    return (
        await session.execute(
            select(m.last_event_id, m.gap_id, m.gap_seen_at).where(m.name == MARK).with_for_update()
        )
    ).first()


async def _move_mark(
    session: AsyncSession,
    to: int,
    *,
    new: bool,
    gap: tuple[int, datetime] | None = None,
) -> None:
    m = webhook_marks_table.c
    gap_id, gap_seen_at = gap if gap is not None else (None, None)
    if new:
        await session.execute(
            insert_for(session, webhook_marks_table)
            .values(name=MARK, last_event_id=to)
            .on_conflict_do_nothing(index_elements=["name"])
        )
    else:
        await session.execute(
            update(webhook_marks_table)
            .where(m.name == MARK)
            .values(last_event_id=to, gap_id=gap_id, gap_seen_at=gap_seen_at)
        )


def _advance(
    mark: int, ids: list[int], known: tuple[int, datetime] | None, now: datetime
) -> tuple[int, tuple[int, datetime] | None]:
    """Where the mark moves over the ``ids`` read after it, and the gap it then
    waits at: ``(first missing id, first seen)``, None when it waits at none.
    A gap is stepped over once it has been seen for :data:`GAP_SECONDS`: timed
    from when a pass first found it, as a row's ``at`` is not its commit time."""
    for event_id in ids:
        if event_id == mark + 1:
            mark = event_id
            continue
        missing = mark + 1
        seen = known[1] if known is not None and known[0] == missing else now
        if now - seen < timedelta(seconds=GAP_SECONDS):
            return mark, (missing, seen)
        mark = event_id  # waited out: a transaction that rolled back
    return mark, None


#: The incident's status as of the event (the incident may have moved on since).
STATUS_AFTER = {
    "incident.opened": "triggered",
    "incident.acknowledged": "acknowledged",
    "incident.resolved": "resolved",
}


def _payload(event: Any, incident: Any, url: str) -> dict[str, Any]:
    kind = EVENTS[event.kind]
    body = {
        "type": kind,
        "timestamp": event.at.isoformat(),
        "data": {
            "incident": {
                "number": incident.number,
                "title": incident.title,
                "severity": incident.severity,
                "service": incident.service,
                "status": STATUS_AFTER.get(kind, incident.status),
            },
            "event": {"id": event.id, "message": event.message, "actor": event.actor},
        },
    }
    if kind == "incident.role_changed":  # which role, from whom, to whom (None: nobody)
        change = dict(event.data or {})
        body["data"]["role"] = {name: change.get(name) for name in ("role", "from", "to")}
    return {
        "url": url,
        "method": "POST",
        "headers": {},
        "message_id": f"klaxon-event-{event.id}",
        "body": orjson.dumps(body).decode(),
        "timeout": REQUEST_TIMEOUT,
    }


async def pass_unheard(runtime: Runtime) -> int:
    """Nobody listens: move the mark to the latest event, so the past is not
    sent to whoever subscribes later. One statement (not the mark, the
    subscriptions and the latest event read apart, as ``forward_events`` does
    on every pass while webhooks come in); it moves nothing if a subscription
    was added since the worker looked, or if the rules file names webhooks."""
    if runtime.rules.current.webhooks:
        return await forward_events(runtime)
    m, t = webhook_marks_table.c, timeline_table.c
    nobody = ~select(webhook_subscriptions_table.c.id).exists()
    latest = select(func.coalesce(func.max(t.id), 0)).scalar_subquery()
    async with writing(runtime.sessions) as session:
        await session.execute(
            update(webhook_marks_table)
            .where(m.name == MARK, nobody)
            .values(last_event_id=latest, gap_id=None, gap_seen_at=None)
        )
    return 0


async def forward_events(runtime: Runtime) -> int:
    """Queue the webhooks of the timeline events after the mark; how many were queued."""
    now = runtime.clock.now()
    t = timeline_table.c
    async with writing(runtime.sessions) as session:
        held = await _mark(session)
        if held is None:  # the migration writes it; a database emptied since, from 0
            await _move_mark(session, 0, new=True)
        mark = held.last_event_id if held is not None else 0
        known = (held.gap_id, held.gap_seen_at) if held is not None and held.gap_id else None
        hooks = await subscribers(session, runtime.rules.current)
        if not hooks:
            # Nobody listens: the past is not sent to whoever subscribes later.
            latest = (await session.execute(select(func.max(t.id)))).scalar() or 0
            if latest != mark:
                await _move_mark(session, latest, new=False)
            return 0
        events = (
            await session.execute(
                select(t.id, t.incident_number, t.kind, t.message, t.actor, t.at, t.data)
                .where(t.id > mark)
                .order_by(t.id)
                .limit(BATCH)
            )
        ).all()
        if not events:
            return 0
        numbers = {event.incident_number for event in events if event.kind in EVENTS}
        incidents = (
            {
                row.number: row
                for row in await session.execute(
                    select(incidents_table).where(incidents_table.c.number.in_(numbers))
                )
            }
            if numbers
            else {}
        )
        queued = 0
        new_mark, gap = _advance(mark, [event.id for event in events], known, now)
        for event in events:
            if event.kind not in EVENTS:
                continue
            for key, url, wanted in hooks:
                if EVENTS[event.kind] not in wanted:
                    continue
                queued += await outbound.enqueue(
                    session,
                    KIND,
                    _payload(event, incidents[event.incident_number], url),
                    key=f"{event.id}:{key}",
                    now=now,
                    incident_number=event.incident_number,
                    deadline=now + DELIVERY_DEADLINE,
                )
        if (new_mark, gap) != (mark, known):
            await _move_mark(session, new_mark, new=False, gap=gap)
    return queued


__all__ = ["EVENTS", "KIND", "forward_events", "pass_unheard", "subscribers"]
