"""Starting and stopping the paging of an incident, inside the caller's transaction.

Starting writes the first escalation step as a row due now (or, under a
maintenance window that covers the incident, at the window's end: see
app/maintenance/quiet.py): committed with the incident, it cannot be lost.
Stopping cancels every pending step and every unsent page of the incident at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.maintenance.quiet import hold_for, quiet_lines
from app.models import incidents_table, notifications_table, responders_table, steps_table
from app.notify import outbox
from app.notify.texts import resolved_sms
from app.results import Opened
from app.rules import RulesFile
from app.timeline import event_row, record


async def begin_paging(
    session: AsyncSession, rules: RulesFile, opened: list[Opened], *, now: datetime, actor: str
) -> list[int]:
    """Schedule step 1 of each new incident's policy; returns those that page."""
    paging: list[int] = []
    timeline: list[dict[str, Any]] = []
    for incident in opened:
        channels = rules.channels_for(incident.severity)
        if not channels:
            timeline.append(
                event_row(
                    incident.number,
                    "not_paged",
                    f"{incident.severity} is recorded without paging",
                    at=now,
                    actor=actor,
                )
            )
            continue
        policy = incident.policy or "default"
        # A reopened incident has steps from before: its paging starts a
        # round after them (read by the INSERT itself: a round trip fewer on
        # the way to a new incident's first page, issue 13).
        s = steps_table.c
        round_ = (
            select(func.coalesce(func.max(s.round) + 1, 0))
            .where(s.incident_number == incident.number)
            .scalar_subquery()
        )
        # A maintenance window covering it: step 1 waits for the window's end.
        hold = await hold_for(session, incident.number, now, now=now)
        if hold is not None:
            timeline.extend(await quiet_lines(session, incident.number, hold, now=now))
        await session.execute(
            insert_for(session, steps_table)
            .values(
                incident_number=incident.number,
                policy=policy,
                round=round_,
                step_index=0,
                due_at=now if hold is None else hold.until,
                status="pending",
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["incident_number", "round", "step_index"])
        )
        timeline.append(
            event_row(
                incident.number,
                "escalation_started",
                f"Escalation policy {policy} started",
                at=now,
                actor=actor,
                data={"policy": policy},
            )
        )
        paging.append(incident.number)
    await record(session, timeline)
    return paging


async def stop_paging(session: AsyncSession, number: int, *, now: datetime) -> tuple[int, int]:
    """Cancel pending steps and unsent pages; returns (steps, pages) cancelled."""
    s = steps_table.c
    steps = await session.execute(
        update(steps_table)
        .where(and_(s.incident_number == number, s.status == "pending"))
        .values(status="cancelled", finished_at=now)
        .returning(s.id)
    )
    return len(steps.all()), await outbox.cancel_pages(session, number, now)


async def notify_resolved(
    session: AsyncSession, number: int, *, by: str, now: datetime
) -> set[str]:
    """Tell everyone paged for this incident, by SMS, that it is resolved: those
    whose page went out and those whose page was in flight (claimed, being sent)
    as it resolved. Returns the numbers told."""
    n, r = notifications_table.c, responders_table.c
    title = (
        await session.execute(
            select(incidents_table.c.title).where(incidents_table.c.number == number)
        )
    ).scalar_one()
    paged = await session.execute(
        select(r.id, r.name, r.phone)
        .join(notifications_table, n.responder_id == r.id)
        .where(
            and_(
                n.incident_number == number,
                n.kind == "page",
                n.state.in_(("sent", "sending")),
            )
        )
        .distinct()
        .order_by(r.id)
    )
    body = resolved_sms(number, title, by)
    items = [outbox.to(row, "resolved", "sms", body, incident_number=number) for row in paged]
    await outbox.enqueue(session, items, now)
    return {item.to_number for item in items}
