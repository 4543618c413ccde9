"""Silences asked for by hand: a responder texts ``42S2h`` and incident 42's
alerts are silenced in Alertmanager for two hours, on their exact label sets
(the same form as silence on acknowledge, app/maintenance/ack_silences.py).

Such a silence lasts the length asked for, whatever the incident's route or
policy says, and asking again (``42S1h``) sets its end to that length from now
rather than adding a second silence. It is lifted early only when the incident
resolves: a resolved incident that fires again must page, and Alertmanager
must tell Klaxon so. The rows go through the same ``silences`` table and
reconciliation pass as every other silence (app/maintenance/sync.py), so an
Alertmanager that is down delays nothing here; while the silence holds, the
poll behind silences (app/maintenance/behind.py) still closes the incident
when its alerts resolve upstream. Ten minutes before it ends, while the
incident is open, whoever asked is texted an offer of ``42S1h`` to extend it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.durations import compact
from app.maintenance.ack_silences import LIVE, describe
from app.maintenance.windows import describe_until
from app.models import alerts_table, incidents_table, silences_table
from app.notify import outbox
from app.oncall.store import get_responder
from app.settings import Settings
from app.timeline import event_row, record

_S, _A, _I = silences_table.c, alerts_table.c, incidents_table.c
#: The longest silence a text may ask for (as ``silence_on_ack``'s bound).
MAX_SECONDS = 7 * 86400
MIN_SECONDS = 60
#: How long before a requested silence ends its requester is offered ``42S1h``.
REMIND_BEFORE = timedelta(minutes=10)


async def from_alertmanager(session: AsyncSession, number: int) -> bool:
    """Whether incident ``number`` has a firing alert from Alertmanager (a page
    offers ``42S1h`` then, app/notify/texts.py)."""
    found = await session.execute(
        select(_A.id)
        .where(_A.incident_number == number, _A.source == "alertmanager", _A.status == "firing")
        .limit(1)
    )
    return found.first() is not None


async def silence_incident(
    session: AsyncSession,
    settings: Settings,
    number: int,
    sets: dict[str, list[dict[str, Any]]],
    *,
    seconds: int,
    by: str,
    via: str,
    now: datetime,
) -> datetime:
    """Silence ``sets`` (from :func:`app.maintenance.ack_silences.label_sets`) of
    incident ``number`` for ``seconds`` from now, said on its timeline as ``by``;
    returns the end."""
    ends_at = now + timedelta(seconds=seconds)
    base = (settings.public_url or settings.served_url).rstrip("/")
    comment = (
        f"Klaxon #{number} silenced for {compact(seconds)} by {by} via {via}"
        f" {base}/api/v1/incidents/{number}"
    )
    rows = await session.execute(
        select(_S.id, _S.matchers)
        .where(_S.incident_number == number, _S.requested_by.is_not(None), _S.state.in_(LIVE))
        .with_for_update()
    )
    held = {repr(row.matchers): row.id for row in rows}
    values: dict[str, Any] = {
        "ends_at": ends_at,
        "comment": comment,
        "requested_by": by,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "reminded_at": None,
        "updated_at": now,
    }
    for key, matchers in sets.items():
        if key in held:
            await session.execute(update(silences_table).where(_S.id == held[key]).values(**values))
        else:
            await session.execute(
                insert(silences_table).values(
                    incident_number=number,
                    matchers=matchers,
                    starts_at=now,
                    created_at=now,
                    **values,
                )
            )
    until = describe_until(ends_at, now)
    await record(
        session,
        [
            event_row(
                number,
                "silence",
                f"Silenced in Alertmanager for {compact(seconds)} (until {until}) via {via}: "
                + "; ".join(describe(m) for m in sets.values()),
                at=now,
                actor=by,
                data={"until": ends_at.isoformat(), "seconds": seconds},
            )
        ],
    )
    return ends_at


async def lift_finished(session: AsyncSession, now: datetime) -> None:
    """Lift the requested silences of incidents resolved since, saying so on
    their timelines; mark those past their end expired (Alertmanager expired
    them itself)."""
    rows = list(
        await session.execute(
            select(silences_table, _I.status)
            .join(incidents_table, _I.number == _S.incident_number)
            .where(_S.requested_by.is_not(None), _S.state.in_(LIVE))
            .with_for_update(of=silences_table)
        )
    )
    timeline: list[dict[str, Any]] = []
    for row in rows:
        if row.ends_at <= now:
            state = "expired"
        elif row.status == "resolved":
            never_sent = row.alertmanager_id is None and row.lease_until is None
            state = "expired" if never_sent else "expiring"
            timeline.append(
                event_row(
                    row.incident_number,
                    "silence",
                    f"Alertmanager silence lifted (resolved): {describe(row.matchers)}",
                    at=now,
                    actor="klaxon (alertmanager)",
                )
            )
        else:
            continue
        await session.execute(
            update(silences_table)
            .where(_S.id == row.id)
            .values(state=state, lease_until=None, next_attempt_at=now, attempts=0, updated_at=now)
        )
    await record(session, timeline)


async def remind_ending(session: AsyncSession, now: datetime) -> int:
    """Text whoever asked for a silence that ends within :data:`REMIND_BEFORE`,
    while its incident is open, offering ``42S1h``; once per silence (asking
    again starts over). Returns how many texts were queued."""
    rows = list(
        await session.execute(
            select(_S.id, _S.incident_number, _S.ends_at, _S.requested_by)
            .join(incidents_table, _I.number == _S.incident_number)
            .where(
                _S.requested_by.is_not(None),
                _S.state.in_(LIVE),
                _S.reminded_at.is_(None),
                _S.ends_at > now,
                _S.ends_at <= now + REMIND_BEFORE,
                _I.status != "resolved",
            )
            .with_for_update(of=silences_table)
        )
    )
    told: set[tuple[int, str]] = set()
    for row in rows:
        await session.execute(update(silences_table).where(_S.id == row.id).values(reminded_at=now))
        key = (row.incident_number, row.requested_by)
        if key in told:
            continue
        responder = await get_responder(session, row.requested_by)
        if responder is None:
            continue
        told.add(key)
        number = row.incident_number
        body = (
            f"[Klaxon] #{number}: its Alertmanager silence ends at"
            f" {describe_until(row.ends_at, now)}. Reply {number}S1h to extend it."
        )
        await outbox.enqueue(
            session, [outbox.to(responder, "reminder", "sms", body, incident_number=number)], now
        )
    return len(told)
