from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class WebhookMark(SQLModel, table=True):
    """How far the outgoing webhooks have read the timeline: every event up to
    ``last_event_id`` is queued for its subscribers (app/automation/webhooks.py)."""

    __tablename__ = "webhook_marks"

    name: str = Field(primary_key=True, max_length=40)
    last_event_id: int = 0
    #: The first id missing after ``last_event_id`` (ids after it were read), and
    #: when that gap was first seen: it is waited for from then, not from the
    #: age of the rows after it, whose ``at`` may be older than their commit.
    gap_id: int | None = None
    gap_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
