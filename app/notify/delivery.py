"""Twilio's delivery states, which its callbacks report out of order: a state
only ever moves forward, and a final one never changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.metrics import DELIVERIES
from app.models import notifications_table
from app.timeline import event_row, record

_RANK = {
    # SMS
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 5,
    "undelivered": 5,
    "failed": 5,
    "read": 6,
    "canceled": 5,
    # calls
    "initiated": 2,
    "ringing": 3,
    "in-progress": 4,
    "answered": 4,
    "completed": 5,
    "busy": 5,
    "no-answer": 5,
}
_TOLD = {"delivered", "undelivered", "failed", "completed", "busy", "no-answer", "canceled"}


def moves_forward(current: str | None, new: str) -> bool:
    if new not in _RANK:
        return False
    if current is None or current not in _RANK:
        return True
    return _RANK[new] > _RANK[current]


async def apply_status(
    session: AsyncSession,
    notification_id: int,
    status: str,
    *,
    sid: str | None,
    error_code: str | None,
    now: datetime,
) -> bool:
    """Record a delivery state if it is news; returns whether anything changed."""
    n = notifications_table.c
    row = (
        await session.execute(
            select(notifications_table).where(n.id == notification_id).with_for_update()
        )
    ).first()
    if row is None or (sid and row.twilio_sid and sid != row.twilio_sid):
        return False
    status = status.lower()
    if not moves_forward(row.delivery, status):
        return False
    values: dict[str, Any] = {"delivery": status, "updated_at": now}
    if error_code and error_code.isdigit():
        values["error_code"] = int(error_code)
    await session.execute(
        update(notifications_table)
        .where(or_(n.id == notification_id, n.bundled_into == notification_id))
        .values(**values)
    )
    DELIVERIES.labels(row.channel, status).inc()
    if status in _TOLD and row.incident_number is not None:  # a handoff has no timeline
        what = "Call to" if row.channel == "voice" else "SMS to"
        suffix = f" (error {error_code})" if error_code else ""
        await record(
            session,
            [
                event_row(
                    row.incident_number,
                    "delivery",
                    f"{what} {row.responder_name}: {status}{suffix}",
                    at=now,
                    actor="twilio",
                    data={"notification": row.id, "status": status},
                )
            ],
        )
    return True
