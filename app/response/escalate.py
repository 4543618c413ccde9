"""Escalating now: a responder who cannot wait out the current step's delay
(the person paged is known to be asleep, on a plane) brings the next step
forward to now.

Nothing is paged here: the incident's next pending step (the one the worker
would fire when the delay runs out) becomes due now, in the caller's
transaction, and the worker fires it as it fires any step once the caller has
committed and woken it (``uow.wake()``, app/transaction.py). So the page goes out exactly
once, through the outbox, with the step's own targets and channels, and the
step after it keeps its delay. An incident that is not triggered (acknowledged
or resolved) has no step left to bring forward: that is a 409, as is a policy
already run to its end (add a responder instead).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.incidents.locks import locked_incident
from app.models import steps_table
from app.timeline import event_row, record


async def escalate_now(session: AsyncSession, number: int, *, by: str, now: datetime) -> int:
    """Make the incident's next pending step due now; returns its 1-based number."""
    incident = await locked_incident(session, number)
    if incident.status != "triggered":
        raise Conflict(f"#{number} is {incident.status}: its escalation has stopped")
    s = steps_table.c
    step = (
        await session.execute(
            select(s.id, s.step_index, s.round, s.due_at)
            .where(s.incident_number == number, s.status == "pending")
            .order_by(s.due_at, s.id)
            .limit(1)
        )
    ).first()
    if step is None:
        raise Conflict(
            f"#{number} has no escalation step left to bring forward; add a responder instead"
        )
    if step.due_at > now:
        await session.execute(update(steps_table).where(s.id == step.id).values(due_at=now))
    label = f"step {step.step_index + 1}" + (f" (round {step.round + 1})" if step.round else "")
    await record(
        session,
        [
            event_row(
                number,
                "escalate_now",
                f"{by} escalated now: {label} is due at once",
                at=now,
                actor=by,
                data={"step": step.step_index, "round": step.round},
            )
        ],
    )
    return int(step.step_index) + 1
