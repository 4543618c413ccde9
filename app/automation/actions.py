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

from sqlalchemy.ext.asyncio import AsyncSession

from app.automation.render import incident_context, render_body
from app.notify import outbound
from app.rules.actions import ActionSpec

KIND = "action"


class Queued(enum.Enum):
    QUEUED = "queued"
    ALREADY = "already"  # this incident ran this action before


def action_key(number: int, action: str) -> str:
    return f"klaxon-{number}-{action}"


async def queue_action(
    session: AsyncSession, action: ActionSpec, incident: Any, *, now: datetime
) -> Queued:
    """Queue ``action`` for ``incident`` (a row of ``incidents``); sent after commit,
    retried until ``now`` + the action's deadline."""
    key = action_key(incident.number, action.name)
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
