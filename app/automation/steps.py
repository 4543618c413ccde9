"""Action steps of an escalation policy (``run: restart-payments, wait: 3m``), for
the engine: run the action, then give it the wait before the next step fires.

The engine schedules the next step at its due time whatever happens to the
request: it is sent after the commit by the outbound queue, and an executor
that is down, slow or failing shows on the timeline and in ``/metrics`` but
never moves a page. If the incident's alerts resolve within the wait, the
pipeline's resolution cancels the pending step as it does on any resolution,
and :func:`note_fixed_by_action` says on the timeline that the action fixed it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.automation.actions import KIND, Queued, action_key, queue_action
from app.durations import compact
from app.metrics import ACTIONS_FIXED
from app.models import outbound_table, timeline_table
from app.rules import RulesFile
from app.timeline import event_row, record

RAN = "action_run"


async def run_action_step(
    session: AsyncSession,
    rules: RulesFile,
    incident: Any,
    name: str,
    *,
    wait: timedelta,
    label: str,
    now: datetime,
) -> tuple[bool, list[dict[str, Any]]]:
    """Queue the action; ``(waits, timeline rows)``: whether the next step waits
    ``wait`` (the action was queued now) or fires at once (the action is gone
    from the rules, or ran for this incident before)."""
    number = incident.number
    action = rules.action(name)
    if action is None:
        message = f"{label} skipped: action {name} is not in the rules file"
        return False, [event_row(number, "warning", message, at=now, actor="klaxon")]
    if await queue_action(session, action, incident, now=now) is Queued.ALREADY:
        message = f"{label}: action {name} already ran for #{number}; not run again"
        return False, [event_row(number, "action_skipped", message, at=now, actor="klaxon")]
    until = now + wait
    row = event_row(
        number,
        RAN,
        f"{label}: running action {name}; the next step waits {compact(int(wait.total_seconds()))}"
        " for the alerts to resolve",
        at=now,
        actor="klaxon",
        data={"action": name, "wait_until": until.isoformat()},
    )
    return True, [row]


async def note_fixed_by_action(session: AsyncSession, number: int, *, now: datetime) -> bool:
    """After the incident's alerts resolved (in that transaction): if that was
    within an action step's wait, with nobody paged since, say the action fixed it
    (or, when its request had not gone through, that it cannot have)."""
    t = timeline_table.c
    last = (
        await session.execute(
            select(t.kind, t.data)
            .where(t.incident_number == number, t.kind.in_((RAN, "escalated")))
            .order_by(t.id.desc())
            .limit(1)
        )
    ).first()
    if last is None or last.kind != RAN:
        return False
    until = datetime.fromisoformat(str(last.data["wait_until"]))
    if now > until:
        return False
    name = str(last.data["action"])
    paged_before = (
        await session.execute(
            select(t.id).where(t.incident_number == number, t.kind == "escalated").limit(1)
        )
    ).first()
    nobody = "" if paged_before is not None else "; nobody was paged"
    o = outbound_table.c
    state = (
        await session.execute(
            select(o.state).where(o.kind == KIND, o.key == action_key(number, name))
        )
    ).scalar()
    if state == "sent":
        ACTIONS_FIXED.labels(name).inc()
        message = f"Alerts resolved within the wait after action {name}: the action fixed it"
    else:  # resolved on their own (or by someone): not the action's doing
        message = (
            f"Alerts resolved within the wait after action {name}, whose request had not"
            f" gone through ({state or 'not queued'})"
        )
    message += nobody
    await record(
        session,
        [event_row(number, "action_fixed", message, at=now, actor="klaxon", data={"action": name})],
    )
    return True
