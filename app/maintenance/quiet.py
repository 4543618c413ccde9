"""Holding the paging of incidents that a maintenance window covers.

While a window is in force, an incident whose firing alerts it all covers
pages nobody: its escalation step waits, due at the window's end, with a
timeline line saying so. The hold is decided twice, both times in the
transaction that would otherwise page:

* when paging begins (app/escalation/paging.py): step 1 is written due at the
  window's end instead of now;
* when a step comes due (app/escalation/steps.py): a step of an incident that a
  window covers now (one created or extended since) is moved to its end.

So at the end the step fires if the alerts still fire, and if they resolved
meanwhile the incident resolved and its step was cancelled: nobody is paged.
An incident opened before the occurrence began is held only by a window with
``quiet_open_incidents``. Ending a window early (or changing it) releases the
steps it held: those due at its old end become due now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.maintenance import store
from app.maintenance.windows import Window, active, covers, describe_until
from app.models import (
    alerts_table,
    incidents_table,
    silences_table,
    steps_table,
    timeline_table,
)
from app.timeline import event_row, record


@dataclass(frozen=True)
class Hold:
    window: Window
    until: datetime


async def _firing_alerts(session: AsyncSession, number: int) -> list[Any]:
    a = alerts_table.c
    stmt = select(a.labels, a.service).where(a.incident_number == number, a.status == "firing")
    return list(await session.execute(stmt))


async def hold_for(
    session: AsyncSession, number: int, opened_at: datetime, *, now: datetime
) -> Hold | None:
    """The window holding incident ``number`` now (the one ending last), or None."""
    live = await store.live_windows(session, now)
    if not live:
        return None
    alerts = await _firing_alerts(session, number)
    if not alerts:
        return None
    best: Hold | None = None
    for window in live:
        occurrence = active(window, now)
        if occurrence is None:
            continue
        if opened_at < occurrence.start and not window.quiet_open_incidents:
            continue
        if best is not None and occurrence.end <= best.until:
            continue
        if all(covers(window, dict(row.labels), row.service) for row in alerts):
            best = Hold(window, occurrence.end)
    return best


async def window_silence(session: AsyncSession, window_id: int | None, until: datetime) -> Any:
    """The silence mirroring the window's occurrence that ends at ``until``
    (app/maintenance/silences.py), or None: no Alertmanager, or none planned."""
    if window_id is None:
        return None
    s = silences_table.c
    found = await session.execute(
        select(s.alertmanager_id, s.state)
        .where(s.window_id == window_id, s.ends_at == until, s.state != "rejected")
        .order_by(s.id.desc())
        .limit(1)
    )
    return found.first()


def _silence_words(silence: Any) -> str:
    if silence is None:
        return ""
    if silence.alertmanager_id is None:
        return " (its silence not yet in Alertmanager)"
    return f" (silence {silence.alertmanager_id} in Alertmanager)"


def quiet_line(number: int, hold: Hold, *, now: datetime, silence: Any = None) -> dict[str, Any]:
    """The timeline line of a hold; ``silence`` is the window's own, from
    :func:`window_silence`."""
    return event_row(
        number,
        "quiet",
        f'quiet: maintenance window "{hold.window.name}"{_silence_words(silence)}'
        f" until {describe_until(hold.until, now)}",
        at=now,
        actor="klaxon (maintenance)",
        data={
            "window": hold.window.name,
            "window_id": hold.window.id,
            "until": hold.until.isoformat(),
            "reason": hold.window.reason,
            "silence_id": None if silence is None else silence.alertmanager_id,
        },
    )


async def quiet_lines(session: AsyncSession, number: int, hold: Hold, *, now: datetime) -> Any:
    """:func:`quiet_line` with the window's silence looked up."""
    silence = await window_silence(session, hold.window.id, hold.until)
    return [quiet_line(number, hold, now=now, silence=silence)]


_HOLD_KINDS = ("quiet", "quiet_over", "acknowledged", "resolved")


async def over_lines(session: AsyncSession, number: int, *, now: datetime) -> list[dict[str, Any]]:
    """When a step held by a window fires (the window over, ended or changed):
    the line that says the hold is over and paging goes on; none when the
    incident's last hold was already said to be over (or it had none)."""
    t = timeline_table.c
    last = (
        await session.execute(
            select(t.kind, t.data)
            # Acknowledged or resolved since the hold: paging now is not its end.
            .where(t.incident_number == number, t.kind.in_(_HOLD_KINDS))
            .order_by(t.id.desc())
            .limit(1)
        )
    ).first()
    if last is None or last.kind != "quiet":
        return []
    data = dict(last.data or {})
    silence = await window_silence(
        session, data.get("window_id"), datetime.fromisoformat(str(data.get("until")))
    )
    held = (
        ""
        if silence is None or silence.alertmanager_id is None
        else (f"; its silence {silence.alertmanager_id} in Alertmanager ends with it")
    )
    return [
        event_row(
            number,
            "quiet_over",
            f'maintenance window "{data.get("window")}" no longer holds it{held}: paging',
            at=now,
            actor="klaxon (maintenance)",
            data={"window": data.get("window"), "window_id": data.get("window_id")},
        )
    ]


async def hold_step(session: AsyncSession, step: Any, incident: Any, *, now: datetime) -> bool:
    """Move a due step to the end of the window covering its incident, saying so
    on the timeline; False (nothing done) when no window holds it."""
    hold = await hold_for(session, incident.number, incident.created_at, now=now)
    if hold is None:
        return False
    await session.execute(
        update(steps_table).where(steps_table.c.id == step.id).values(due_at=hold.until)
    )
    await record(session, await quiet_lines(session, incident.number, hold, now=now))
    return True


async def release(session: AsyncSession, window: Window, until: datetime, *, now: datetime) -> int:
    """The window no longer holds until ``until`` (ended, changed or deleted):
    steps it held, due then, of incidents it covers become due now (and are held
    again when they fire if another window still covers them). Returns how many."""
    s, i = steps_table.c, incidents_table.c
    if until <= now:
        return 0
    rows = await session.execute(
        select(s.id, s.incident_number)
        .join(incidents_table, i.number == s.incident_number)
        .where(and_(s.status == "pending", s.due_at == until, i.status == "triggered"))
    )
    released: list[int] = []
    for row in rows:
        alerts = await _firing_alerts(session, row.incident_number)
        if alerts and all(covers(window, dict(a.labels), a.service) for a in alerts):
            released.append(row.id)
    if released:
        await session.execute(update(steps_table).where(s.id.in_(released)).values(due_at=now))
    return len(released)
