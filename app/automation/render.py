"""What an action's body template sees of an incident, and the body it makes.

The context is read in the transaction that decides to run the action, and the
rendered request is what the queue keeps: a retry, or a policy's second round,
sends what was decided, never a newer or older incident's fields.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import alerts_table
from app.rules.actions import ActionSpec, FieldTemplate

#: How many alerts ``$alerts`` lists (a storm is one incident of thousands).
ALERTS_LISTED = 50


async def incident_context(
    session: AsyncSession, incident: Any, *, action: str, key: str
) -> dict[str, Any]:
    """The placeholders' values: the incident's fields, its labels, the worst firing
    alert's annotations, and up to :data:`ALERTS_LISTED` firing alerts."""
    a = alerts_table.c
    rows = (
        await session.execute(
            select(a.name, a.labels, a.annotations, a.severity, a.starts_at, a.status)
            .where(a.incident_number == incident.number, a.status == "firing")
            .order_by(a.severity, a.id)
            .limit(ALERTS_LISTED)
        )
    ).all()
    context: dict[str, Any] = {
        "number": str(incident.number),
        "title": str(incident.title),
        "severity": str(incident.severity),
        "service": str(incident.service),
        "status": str(incident.status),
        "action": action,
        "idempotency_key": key,
        "alert_count": str(incident.firing_count),
    }
    for name, value in dict(incident.labels).items():
        context[f"labels.{name}"] = str(value)
    if rows:
        for name, value in dict(rows[0].annotations).items():
            context[f"annotations.{name}"] = str(value)
    context["alerts"] = [
        {
            "name": row.name,
            "severity": row.severity,
            "labels": dict(row.labels),
            "annotations": dict(row.annotations),
            "startsAt": row.starts_at.isoformat(),
        }
        for row in rows
    ]
    return context


def _fill(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if value.strip() in ("$alerts", "${alerts}"):
            return context["alerts"]
        texts = {k: v for k, v in context.items() if isinstance(v, str)}
        # A label the incident lacks reads as empty, as in Alertmanager's templates.
        names = FieldTemplate(value).get_identifiers()
        return FieldTemplate(value).substitute({**dict.fromkeys(names, ""), **texts})
    if isinstance(value, dict):
        return {key: _fill(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, context) for item in value]
    return value


def render_body(action: ActionSpec, context: dict[str, Any]) -> str | None:
    """The JSON body, or None for an action without one."""
    if action.body is None:
        return None
    return orjson.dumps(_fill(action.body, context)).decode()
