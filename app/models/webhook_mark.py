from __future__ import annotations

from sqlmodel import Field, SQLModel


class WebhookMark(SQLModel, table=True):
    """How far the outgoing webhooks have read the timeline: every event up to
    ``last_event_id`` is queued for its subscribers (app/automation/webhooks.py)."""

    __tablename__ = "webhook_marks"

    name: str = Field(primary_key=True, max_length=40)
    last_event_id: int = 0
