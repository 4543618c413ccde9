"""Deciding to run an action: its request rendered and queued, in the caller's
transaction, under one idempotency key per incident and action.

The key is the message's ``webhook-id`` and ``Idempotency-Key``: the queue
never sends two messages with one key, so a policy's second round, a reopened
incident or a replica firing the same step cannot run the action twice, and an
executor that honours the header drops a retried request it already ran.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.automation.render import incident_context, render_body
from app.models import outbound_table
from app.notify import outbound
from app.rules.actions import ActionSpec
from app.timeline import event_row, record

KIND = "action"


class Queued(enum.Enum):
    QUEUED = "queued"
    ALREADY = "already"  # this incident ran this action before


def action_key(number: int, action: str) -> str:
    return f"klaxon-{number}-{action}"


async def queue_action(
    session: AsyncSession,
    action: ActionSpec,
    incident: Any,
    *,
    now: datetime,
    key: str | None = None,
    reply_to: dict[str, Any] | None = None,
) -> Queued:
    """Queue ``action`` for ``incident`` (a row of ``incidents``); sent after commit,
    retried until ``now`` + the action's deadline. ``key`` defaults to
    :func:`action_key`; ``reply_to`` (a responder's name, id and phone) is texted
    the outcome (app/notify/outbound.py)."""
    key = key or action_key(incident.number, action.name)
    context = await incident_context(session, incident, action=action.name, key=key)
    request = {
        "action": action.name,
        "url": action.url,
        "method": action.method,
        # Secrets stay ${secret.NAME} here: they are read only as the request leaves.
        "headers": dict(action.headers),
        "body": render_body(action, context),
        "timeout": action.timeout,
    }
    if reply_to is not None:
        request["reply_to"] = reply_to
    queued = await outbound.enqueue(
        session,
        KIND,
        request,
        key=key,
        now=now,
        incident_number=incident.number,
        deadline=now + timedelta(seconds=action.deadline),
    )
    return Queued.QUEUED if queued else Queued.ALREADY


async def cancel_queued(session: AsyncSession, number: int, *, now: datetime, why: str) -> int:
    """Call back the incident's actions not sent yet, in the caller's transaction
    (the one that resolved it): an action decided while the incident was open is
    not sent once it is resolved. A retry waiting for its due time is called back
    too; one already being sent (claimed by a sender) cannot be, and its answer
    goes on the timeline as usual. Returns how many were cancelled."""
    o = outbound_table.c
    cancelled = (
        await session.execute(
            update(outbound_table)
            .where(o.kind == KIND, o.incident_number == number, o.state == "pending")
            .values(state="cancelled", updated_at=now, last_result=f"cancelled: {why}")
            .returning(o.payload)
        )
    ).all()
    for row in cancelled:
        said = f"Action {row.payload['action']} cancelled before it was sent: {why}"
        data = {"action": row.payload["action"]}
        await record(
            session,
            [event_row(number, "action_cancelled", said, at=now, actor="klaxon", data=data)],
        )
        await outbound.text_back(session, row.payload, number, said, now)  # to its approver
    return len(cancelled)
